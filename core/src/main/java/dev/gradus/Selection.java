package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.Layout;

/**
 * Selecting and masking with PyTorch's names ({@code select}, stepped {@code slice}, {@code flip}, {@code tril},
 * {@code triu}, {@code masked_fill}), {@code cumsum} and {@code linspace}, composed from {@link Tensor}'s ops; reach them from
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

    /**
     * Every {@code step}-th element of {@code axis} from {@code start} up to {@code end} (excluded), a view, as
     * Python's {@code x[start:end:step]}: negative bounds count from the end, bounds past either end are clamped.
     */
    static Tensor slice(Tensor x, int axis, int start, int end, int step) {
        Shape s = x.requireOpen("slice").shape();
        int a = s.normalizeAxis(axis, "slice");
        if (step <= 0) {
            throw new IllegalArgumentException(
                    "slice: step " + step + " must be positive (axis " + a + " of " + s + ")");
        }
        int n = s.dim(a);
        int from = clampBound(start, n);
        int to = Math.max(from, clampBound(end, n));
        int length = (int) (((long) to - from + step - 1) / step);
        Tensor out = x.view(stepped(x.layout(), a, from, length, step));
        return Autograd.record(out, "slice", x, d -> {
            Tensor g = x.zerosLike();
            g.view(stepped(g.layout(), a, from, length, step)).copyFrom(d); // gradients are off in backward
            return g;
        });
    }

    /** {@code length} elements of axis {@code a} of {@code l}, {@code step} apart from element {@code from}. */
    private static Layout stepped(Layout l, int a, int from, int length, int step) {
        int[] dims = l.shape().clone();
        int[] strides = l.strides().clone();
        dims[a] = length;
        if (length > 1) { // one element needs no step, and a huge step then does not overflow the stride
            strides[a] = Math.multiplyExact(strides[a], step);
        }
        // An empty result keeps the offset as it is: from may be one past the last element.
        int offset = length == 0 ? l.offset() : Math.addExact(l.offset(), Math.multiplyExact(from, l.strides()[a]));
        return new Layout(dims, strides, offset);
    }

    /** A Python slice bound on an axis of {@code n}: negative from the end, then clamped to {@code [0, n]}. */
    private static int clampBound(int bound, int n) {
        long b = bound < 0 ? (long) bound + n : bound;
        return (int) Math.max(0, Math.min(n, b));
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
