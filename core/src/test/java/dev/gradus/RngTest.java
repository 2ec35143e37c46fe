package dev.gradus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class RngTest {
    private static double[] gaussians(long seed, int n) {
        Rng rng = new Rng(seed);
        double[] g = new double[n];
        for (int i = 0; i < n; i++) {
            g[i] = rng.nextGaussian();
        }
        return g;
    }

    @Test
    void theSameSeedGivesTheSameGaussians() {
        assertArrayEquals(gaussians(7, 1000), gaussians(7, 1000));
        assertFalse(Arrays.equals(gaussians(7, 1000), gaussians(8, 1000)));
    }

    /** The sampler's moments and tails, against the standard normal's, over two million draws. */
    @Test
    void gaussiansFollowTheStandardNormal() {
        int n = 2_000_000;
        double[] g = gaussians(42, n);
        double sum = 0;
        double sq = 0;
        double fourth = 0;
        int within1 = 0;
        int beyond3 = 0;
        for (double x : g) {
            sum += x;
            sq += x * x;
            fourth += x * x * x * x;
            within1 += Math.abs(x) < 1 ? 1 : 0;
            beyond3 += Math.abs(x) > 3 ? 1 : 0;
        }
        double mean = sum / n;
        double var = sq / n - mean * mean;
        // Standard errors at n = 2e6: mean 7e-4, variance 1e-3, P(|x| < 1) 3.3e-4, P(|x| > 3) 3.7e-5.
        assertEquals(0, mean, 4e-3, "mean");
        assertEquals(1, var, 6e-3, "variance");
        assertEquals(3, fourth / n / (var * var), 0.03, "kurtosis");
        assertEquals(0.682689, within1 / (double) n, 2e-3, "P(|x| < 1)");
        assertEquals(0.002700, beyond3 / (double) n, 2.5e-4, "P(|x| > 3)");
    }

    @Test
    void isARandomGeneratorForJdkApis() {
        RandomGenerator r = new Rng(3);
        int[] ints = r.ints(1000, 0, 10).toArray();
        assertEquals(1000, ints.length);
        assertEquals(10, Arrays.stream(ints).distinct().count());
        assertThrows(IllegalArgumentException.class, () -> new Rng(3).nextInt(0));
    }
}
