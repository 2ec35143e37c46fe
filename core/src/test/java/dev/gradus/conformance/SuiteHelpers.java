package dev.gradus.conformance;

import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import java.util.function.Function;

/**
 * The helpers the conformance interfaces use, implemented once by {@link BackendConformance}: the backend under
 * test, tensors on it, seeded random data and the finite-difference gradient check.
 *
 * <pre>{@code
 * gradCheck("exp", a -> a[0].exp(), rand(-1, 1, 3, 4));
 * }</pre>
 */
interface SuiteHelpers {
    /** The backend under test. */
    Backend suiteBackend();

    /** The suite's seeded random stream. */
    Rng suiteRng();

    /** A tensor of {@code data} with {@code shape} on the backend under test. */
    Tensor t(float[] data, int... shape);

    /** {@code n} values uniform in [lo, hi) from {@link #suiteRng}. */
    float[] random(int n, float lo, float hi);

    /** A tensor of {@code shape} with values uniform in [lo, hi). */
    Tensor rand(float lo, float hi, int... shape);

    /** d(sum(f(x) * w))/dx of every input, for a fixed random {@code w}, against central differences. */
    void gradCheck(String what, Function<Tensor[], Tensor> f, Tensor... inputs);

    /** As above with a fixed step {@code step} (0: relative steps), for functions with nearby kinks. */
    void gradCheck(String what, Function<Tensor[], Tensor> f, double step, Tensor... inputs);
}
