package dev.gradus.nn;

import dev.gradus.DType;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;

/**
 * Weight initialisations.
 *
 * <p>{@link #PYTORCH} matches {@code nn.Linear}/{@code nn.Conv2d}: weights and biases uniform in
 * {@code ±1/sqrt(fanIn)} (Kaiming uniform with {@code a = sqrt(5)}). {@link #GLOROT} matches Flux's
 * {@code Dense}: weights uniform in {@code ±sqrt(6/(fanIn+fanOut))}, zero bias.
 */
public enum Init {
    PYTORCH,
    GLOROT;

    /** A weight tensor of {@code shape} with the given fans. */
    public Tensor weight(Backend backend, Rng rng, int fanIn, int fanOut, int... shape) {
        float bound = switch (this) {
            case PYTORCH -> (float) (1.0 / Math.sqrt(fanIn));
            case GLOROT -> (float) Math.sqrt(6.0 / (fanIn + fanOut));
        };
        return uniform(backend, rng, bound, shape);
    }

    /** A bias tensor of {@code shape}. */
    public Tensor bias(Backend backend, Rng rng, int fanIn, int... shape) {
        return switch (this) {
            case PYTORCH -> uniform(backend, rng, (float) (1.0 / Math.sqrt(fanIn)), shape);
            case GLOROT -> Tensor.full(backend, 0f, shape);
        };
    }

    private static Tensor uniform(Backend backend, Rng rng, float bound, int... shape) {
        // The tensor first: a shape too large for the backend is refused by name before a heap array is made.
        Tensor t = Tensor.empty(backend, DType.FLOAT32, shape);
        int n = t.numel();
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (2f * rng.nextFloat() - 1f) * bound;
        }
        backend.write(t.operand().storage(), 0, v, 0, n);
        return t;
    }
}
