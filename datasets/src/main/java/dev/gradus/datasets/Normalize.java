package dev.gradus.datasets;

import dev.gradus.Rng;
import java.util.Arrays;

/**
 * Per-channel normalisation {@code (x - mean[c]) / std[c]}, as torchvision's {@code Normalize}.
 *
 * <p>Shapes: items {@code [C, ...]} with one mean and std per channel C.
 *
 * <pre>{@code
 * Normalize mnist = Normalize.of(0.1307f, 0.3081f);     // the PyTorch notebook's constants
 * Normalize fitted = Normalize.fit(train);               // or computed from a data set
 * }</pre>
 */
public record Normalize(float[] mean, float[] std) implements Transform {
    public Normalize {
        if (mean.length != std.length || mean.length == 0) {
            throw new IllegalArgumentException("Normalize: " + mean.length + " means and " + std.length + " stds");
        }
        for (int c = 0; c < std.length; c++) {
            if (!(std[c] > 0) || !Float.isFinite(mean[c])) {
                throw new IllegalArgumentException("Normalize: channel " + c + " has mean " + mean[c] + ", std "
                        + std[c] + "; std must be positive and finite");
            }
        }
    }

    /** One channel. */
    public static Normalize of(float mean, float std) {
        return new Normalize(new float[] {mean}, new float[] {std});
    }

    /** Mean and (population) standard deviation of each channel over every item of {@code data}. */
    public static Normalize fit(Dataset data) {
        int channels = data.itemShape()[0];
        int per = data.itemSize() / channels;
        double[] sum = new double[channels];
        double[] sq = new double[channels];
        float[] f = data.features();
        for (int i = 0; i < data.size(); i++) {
            for (int c = 0; c < channels; c++) {
                int base = i * data.itemSize() + c * per;
                for (int k = 0; k < per; k++) {
                    double v = f[base + k];
                    sum[c] += v;
                    sq[c] += v * v;
                }
            }
        }
        float[] mean = new float[channels];
        float[] std = new float[channels];
        double n = (double) data.size() * per;
        for (int c = 0; c < channels; c++) {
            double m = sum[c] / n;
            mean[c] = (float) m;
            std[c] = (float) Math.sqrt(Math.max(0, sq[c] / n - m * m));
        }
        return new Normalize(mean, std);
    }

    @Override
    public void apply(float[] data, int offset, int[] shape, Rng rng) {
        int channels = shape[0];
        if (channels != mean.length) {
            throw new IllegalArgumentException("Normalize: item has " + channels + " channels " + Arrays.toString(shape)
                    + ", the transform " + mean.length);
        }
        int per = 1;
        for (int d = 1; d < shape.length; d++) {
            per *= shape[d];
        }
        for (int c = 0; c < channels; c++) {
            float m = mean[c];
            float inv = 1f / std[c];
            int base = offset + c * per;
            for (int k = 0; k < per; k++) {
                data[base + k] = (data[base + k] - m) * inv;
            }
        }
    }

    @Override
    public String toString() {
        return "Normalize(mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
    }
}
