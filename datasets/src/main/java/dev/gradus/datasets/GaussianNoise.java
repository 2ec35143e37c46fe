package dev.gradus.datasets;

import dev.gradus.Rng;

/**
 * Adds independent Gaussian noise of standard deviation {@code std} to every value, as the Flux model-zoo CNN's
 * {@code augment(x) = x .+ 0.1f0 * randn(size(x))}.
 *
 * <p>Shapes: any item. {@code loader.transform(new GaussianNoise(0.1f), seed)}
 */
public record GaussianNoise(float std) implements Transform {
    public GaussianNoise {
        if (!(std >= 0) || !Float.isFinite(std)) {
            throw new IllegalArgumentException("GaussianNoise: std must be finite and >= 0, got " + std);
        }
    }

    @Override
    public void apply(float[] data, int offset, int[] shape, Rng rng) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        for (int i = 0; i < n; i++) {
            data[offset + i] += (float) (std * rng.nextGaussian());
        }
    }
}
