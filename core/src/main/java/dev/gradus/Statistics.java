package dev.gradus;

import java.util.Arrays;

/**
 * Variance, standard deviation and sums over several axes, composed from {@link Tensor}'s ops with PyTorch's
 * semantics ({@code torch.var(x, dim, correction=1)}, {@code torch.sum(x, dims)}); reach them from {@link Tensor}.
 *
 * <p>Shapes: the reduced axes drop out, or stay with size 1 when {@code keepDim}.
 *
 * <pre>{@code Tensor v = x.var(1, 1, false);   // unbiased variance of each row}</pre>
 */
final class Statistics {
    private Statistics() {}

    /** {@code sum((x - mean)^2) / (n - correction)} along {@code axis}; PyTorch's default correction is 1. */
    static Tensor var(Tensor x, int axis, int correction, boolean keepDim) {
        int a = x.shape().normalizeAxis(axis, "var");
        int n = x.shape().dim(a);
        Tensor centred = x.sub(x.mean(a, true));
        // n - correction <= 0: PyTorch gives inf or NaN (x / 0), and so does this.
        return centred.mul(centred).sum(a, keepDim).div(n - correction);
    }

    /** The square root of {@link #var}. */
    static Tensor std(Tensor x, int axis, int correction, boolean keepDim) {
        return var(x, axis, correction, keepDim).sqrt();
    }

    /** The sum over every axis of {@code axes} (negative from the end; each once). */
    static Tensor sum(Tensor x, int[] axes, boolean keepDim) {
        Shape s = x.shape();
        int[] a = new int[axes.length];
        for (int i = 0; i < axes.length; i++) {
            a[i] = s.normalizeAxis(axes[i], "sum");
        }
        Arrays.sort(a);
        for (int i = 1; i < a.length; i++) {
            if (a[i] == a[i - 1]) {
                throw new IllegalArgumentException("sum: axis " + a[i] + " given twice for " + s);
            }
        }
        Tensor out = x;
        for (int i = a.length - 1; i >= 0; i--) { // from the last, so the earlier indices stay valid
            out = out.sum(a[i], keepDim);
        }
        return out;
    }
}
