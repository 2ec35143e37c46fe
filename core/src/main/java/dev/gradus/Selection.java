package dev.gradus;

import dev.gradus.spi.Backend;

/**
 * Selecting and masking with PyTorch's names ({@code select}, {@code flip}, {@code tril}, {@code triu},
 * {@code masked_fill}), {@code cumsum} and {@code linspace}, composed from {@link Tensor}'s ops; reach them from
 * {@link Tensor}.
 *
 * <pre>{@code Tensor causal = scores.maskedFill(Tensor.ones(be, 4, 4).triu(1), Float.NEGATIVE_INFINITY);}</pre>
 */
final class Selection {
    private Selection() {}

    /** Index {@code index} of {@code axis} (negative from the end), that axis removed. */
    static Tensor select(Tensor x, int axis, int index) {
        int a = x.shape().normalizeAxis(axis, "select");
        int n = x.shape().dim(a);
        int i = index < 0 ? index + n : index;
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("select: index " + index + " of axis " + a + " of " + x.shape());
        }
        return x.narrow(a, i, 1).squeeze(a);
    }

    /** The elements in reverse order along {@code axis}. */
    static Tensor flip(Tensor x, int axis) {
        int a = x.shape().normalizeAxis(axis, "flip");
        int n = x.shape().dim(a);
        int[] reversed = new int[n];
        for (int i = 0; i < n; i++) {
            reversed[i] = n - 1 - i;
        }
        return x.indexSelect(a, Tensor.ofInts(x.backend(), reversed, n));
    }

    /**
     * The last two axes' elements on and below diagonal {@code k} ({@code lower}) or on and above it, the rest 0 (a
     * NaN outside included, as PyTorch).
     */
    static Tensor triangle(Tensor x, int k, boolean lower) {
        String op = lower ? "tril" : "triu";
        if (x.shape().rank() < 2) {
            throw new IllegalArgumentException(op + ": needs at least 2 axes, got " + x.shape());
        }
        int rows = x.shape().dim(-2);
        int cols = x.shape().dim(-1);
        float[] keep = new float[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                keep[i * cols + j] = (lower ? j - i <= k : j - i >= k) ? 1f : 0f;
            }
        }
        Tensor mask = Tensor.of(x.backend(), keep, rows, cols);
        return Tensor.where(mask, x, Tensor.zeros(x.backend(), 1));
    }

    /** {@code value} where {@code mask} (broadcast) is non-zero, else {@code x}. */
    static Tensor maskedFill(Tensor x, Tensor mask, float value) {
        return Tensor.where(mask, Tensor.full(x.backend(), value, 1), x);
    }

    /** Running sums along {@code axis}: element {@code i} is the sum of elements {@code 0..i}. */
    static Tensor cumsum(Tensor x, int axis) {
        int a = x.shape().normalizeAxis(axis, "cumsum");
        int last = x.shape().rank() - 1;
        if (a != last) {
            return cumsum(x.transpose(a, last), last).transpose(a, last);
        }
        int n = x.shape().dim(last);
        // One product with an upper-triangular matrix of ones: n^2 work per row, fine for the axes people scan.
        float[] upper = new float[Math.multiplyExact(n, n)];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i <= j; i++) {
                upper[i * n + j] = 1f;
            }
        }
        return x.matmul(Tensor.of(x.backend(), upper, n, n));
    }

    /** {@code steps} evenly spaced values from {@code start} to {@code end}, both included. */
    static Tensor linspace(Backend backend, float start, float end, int steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("linspace: steps must not be negative, got " + steps);
        }
        float[] v = new float[steps];
        for (int i = 0; i < steps; i++) {
            v[i] = steps == 1 ? start : (float) (start + (double) (end - start) * i / (steps - 1));
        }
        return Tensor.of(backend, v, steps);
    }
}
