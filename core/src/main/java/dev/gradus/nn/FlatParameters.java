package dev.gradus.nn;

import dev.gradus.GradMode;
import dev.gradus.Tensor;
import java.util.List;

/**
 * All parameters' values or gradients as one flat float array, in {@code parameters()} order, each tensor's elements
 * row-major: what a data-parallel all-reduce or a parameter broadcast sends over the wire.
 *
 * <pre>{@code
 * loss.backward();
 * float[] g = FlatParameters.gradients(model.parameters());   // [parameterCount]
 * allReduce.sum(g);
 * FlatParameters.setGradients(model.parameters(), g);
 * opt.step();
 * }</pre>
 */
public final class FlatParameters {
    private FlatParameters() {}

    /** The number of floats in {@code params} together (the length of the flat arrays). */
    public static int size(List<? extends Tensor> params) {
        long n = 0;
        for (Tensor p : params) {
            n += p.numel();
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("FlatParameters: " + n + " floats do not fit in one Java array");
        }
        return (int) n;
    }

    /** Every parameter's values, concatenated: {@code [size(params)]}. */
    public static float[] values(List<? extends Tensor> params) {
        float[] out = new float[size(params)];
        int at = 0;
        for (Tensor p : params) {
            float[] v = p.toFloatArray();
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }

    /**
     * Every parameter's gradient, concatenated: {@code [size(params)]}; a parameter without a gradient (never
     * reached by a backward pass, or zeroed since) contributes zeros.
     */
    public static float[] gradients(List<? extends Tensor> params) {
        float[] out = new float[size(params)];
        int at = 0;
        for (Tensor p : params) {
            if (p.hasGrad()) {
                float[] g = p.grad().toFloatArray();
                System.arraycopy(g, 0, out, at, g.length);
            }
            at += p.numel();
        }
        return out;
    }

    /**
     * Overwrites every parameter's values from {@code flat} (as {@link #values} lays them out), outside autograd.
     *
     * @throws IllegalArgumentException if {@code flat} is not {@code size(params)} long
     */
    public static void setValues(List<? extends Tensor> params, float[] flat) {
        check("setValues", params, flat);
        int at = 0;
        try (GradMode ng = GradMode.noGrad()) {
            for (Tensor p : params) {
                write(p, flat, at);
                at += p.numel();
            }
        }
    }

    /**
     * Overwrites every parameter's gradient from {@code flat} (as {@link #gradients} lays them out).
     *
     * @throws IllegalArgumentException if {@code flat} is not {@code size(params)} long
     * @throws IllegalStateException naming the parameter when one has no gradient yet (run a backward pass first)
     */
    public static void setGradients(List<? extends Tensor> params, float[] flat) {
        check("setGradients", params, flat);
        int at = 0;
        try (GradMode ng = GradMode.noGrad()) {
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i);
                Tensor g = p.grad();
                if (g == null) {
                    throw new IllegalStateException("FlatParameters.setGradients: parameter " + i + " " + p.shape()
                            + " has no gradient yet; run a backward pass through it first");
                }
                write(g, flat, at);
                at += p.numel();
            }
        }
    }

    private static void write(Tensor dst, float[] flat, int at) {
        float[] part = new float[dst.numel()];
        System.arraycopy(flat, at, part, 0, part.length);
        try (Tensor src = Tensor.of(dst.backend(), part, dst.shape().dims())) {
            dst.copyFrom(src);
        }
    }

    private static void check(String op, List<? extends Tensor> params, float[] flat) {
        int n = size(params);
        if (flat.length != n) {
            throw new IllegalArgumentException(
                    "FlatParameters." + op + ": " + flat.length + " floats for parameters of " + n + " floats");
        }
    }
}
