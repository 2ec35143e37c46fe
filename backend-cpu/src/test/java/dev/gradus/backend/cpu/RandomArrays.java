package dev.gradus.backend.cpu;

import dev.gradus.Rng;

/** Seeded test data shared by this module's tests. */
final class RandomArrays {
    private RandomArrays() {}

    /** {@code n} values uniform in [-0.5, 0.5), the same for the same seed. */
    static float[] centred(int n, long seed) {
        Rng rng = new Rng(seed);
        float[] v = new float[n];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextFloat() - 0.5f;
        }
        return v;
    }
}
