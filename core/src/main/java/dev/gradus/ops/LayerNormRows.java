package dev.gradus.ops;

import dev.gradus.Tensor;
import java.nio.FloatBuffer;

/**
 * Each row normalised to mean 0 and variance 1, {@code (x - mean) / sqrt(var + eps)} (the variance biased), as one
 * fused op forward and one backward, each a single kernel (Java on every backend, CUDA on the CUDA backend); the
 * backward is {@code rstd * (g - mean(g) - xhat * mean(g * xhat))}. Why fused: composed from tensor ops the layer
 * norm of the {@code vit} example is 7 passes over memory forward and about 15 backward, nine times a step.
 *
 * <p>Shapes: {@code x [R, D]} to {@code [R, D]}.
 *
 * <pre>{@code Tensor xhat = LayerNormRows.normalize(x, 1e-5f);   // [2176, 64] -> [2176, 64]}</pre>
 */
public final class LayerNormRows {
    private LayerNormRows() {}

    /** {@code x [R, D]} normalised per row; see the class comment. */
    public static Tensor normalize(Tensor x, float eps) {
        int width = x.shape().rank() == 2 ? x.shape().dim(1) : -1;
        return FORWARD.apply(
                x, Tensor.of(x.backend(), new float[] {eps}, 1), Tensor.of(x.backend(), new float[] {width}, 1));
    }

    /** x's shape, checked: x {@code [R, D]}, then eps and D as one element each. */
    private static int[] check(int[] x, int[] eps, int[] width) {
        if (x.length != 2 || eps.length != 1 || eps[0] != 1 || width.length != 1 || width[0] != 1) {
            throw new IllegalArgumentException("expected x [R, D], then eps and D as one element each");
        }
        return x;
    }

    /** {@code dx [R, D]} from {@code g [R, D]} (the gradient of the normalised rows), x, eps and D. */
    static final Op BACKWARD = Op.builder("layerNormRowsBackward")
            .arity(4)
            .shape(shapes -> {
                int[] x = check(shapes[1], shapes[2], shapes[3]);
                if (shapes[0].length != 2 || shapes[0][0] != x[0] || shapes[0][1] != x[1]) {
                    throw new IllegalArgumentException("the gradient must be shaped as x");
                }
                return x.clone();
            })
            .cpu(LayerNormRows::backward)
            .cuda(LayerNormRowsCuda.SOURCE, "gradus_layer_norm_rows_backward")
            .build();

    /** {@code [R, D]}: the normalised rows. Inputs: x, then eps and D as one-element tensors. */
    static final Op FORWARD = Op.builder("layerNormRows")
            .arity(3)
            .shape(shapes -> check(shapes[0], shapes[1], shapes[2]).clone())
            .cpu(LayerNormRows::forward)
            .cuda(LayerNormRowsCuda.SOURCE, "gradus_layer_norm_rows")
            .backward((dOut, out, in) -> new Tensor[] {BACKWARD.apply(dOut, in[0], in[1], in[2]), null, null})
            .build();

    /** Reads row {@code r} into {@code row} and returns its mean and {@code 1 / sqrt(var + eps)}. */
    private static float[] stats(FloatBuffer x, int r, float[] row, float eps) {
        int d = row.length;
        x.get(r * d, row, 0, d);
        double sum = 0;
        for (int j = 0; j < d; j++) {
            sum += row[j];
        }
        float mean = (float) (sum / d);
        double sq = 0;
        for (int j = 0; j < d; j++) {
            float c = row[j] - mean;
            sq += c * c;
        }
        return new float[] {mean, (float) (1 / Math.sqrt(sq / d + eps))};
    }

    private static void forward(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int rows = shapes[0][0];
        int d = shapes[0][1];
        float eps = in[1].get(0);
        float[] row = new float[d];
        for (int r = 0; r < rows; r++) {
            float[] s = stats(in[0], r, row, eps);
            for (int j = 0; j < d; j++) {
                row[j] = (row[j] - s[0]) * s[1];
            }
            out.put(r * d, row, 0, d);
        }
    }

    private static void backward(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int rows = shapes[1][0];
        int d = shapes[1][1];
        float eps = in[2].get(0);
        float[] row = new float[d];
        float[] g = new float[d];
        for (int r = 0; r < rows; r++) {
            float[] s = stats(in[1], r, row, eps);
            in[0].get(r * d, g, 0, d);
            double gSum = 0;
            double gxSum = 0;
            for (int j = 0; j < d; j++) {
                row[j] = (row[j] - s[0]) * s[1];
                gSum += g[j];
                gxSum += g[j] * row[j];
            }
            float gMean = (float) (gSum / d);
            float gxMean = (float) (gxSum / d);
            for (int j = 0; j < d; j++) {
                row[j] = s[1] * (g[j] - gMean - row[j] * gxMean);
            }
            out.put(r * d, row, 0, d);
        }
    }
}
