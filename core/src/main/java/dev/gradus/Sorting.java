package dev.gradus;

import java.util.Arrays;

/**
 * {@code sort} and {@code topk} with PyTorch's semantics, composed from {@link Tensor#gather}; reach them from
 * {@link Tensor}.
 *
 * <p>The order is found on the host: the values are read back (one copy, as {@code maskedSelect} does) and each run
 * along the axis sorted stably, NaN as the largest value and {@code -0.0} equal to {@code 0.0}, as PyTorch. The
 * values are then gathered on the backend at those indices, so the gradient scatters back through them.
 *
 * <pre>{@code ValuesAndIndices best = logits.topk(5, 1, true, true);   // [N, 10] -> [N, 5] twice}</pre>
 */
final class Sorting {
    private Sorting() {}

    /** The whole axis in order: {@code torch.sort(x, dim, descending, stable=True)}. */
    static ValuesAndIndices sort(Tensor x, int axis, boolean descending) {
        x.checkFloat("sort");
        int n = x.shape().rank() == 0 ? 1 : x.shape().dim(normalize(x, axis, "sort"));
        return pick(x, axis, n, descending, "sort");
    }

    /** The {@code k} largest (or smallest) along {@code axis}, as {@code torch.topk}; always in sorted order. */
    static ValuesAndIndices topk(Tensor x, int k, int axis, boolean largest) {
        x.checkFloat("topk");
        int a = normalize(x, axis, "topk");
        int n = x.shape().rank() == 0 ? 1 : x.shape().dim(a);
        if (k < 0 || k > n) {
            throw new IllegalArgumentException(
                    "topk: k " + k + " is out of range for axis " + axis + " of " + x.shape() + " (0.." + n + ")");
        }
        return pick(x, axis, k, largest, "topk");
    }

    /** The axis, normalised; a scalar has axes 0 and -1, as in PyTorch. */
    private static int normalize(Tensor x, int axis, String op) {
        if (x.shape().rank() == 0) {
            if (axis != 0 && axis != -1) {
                throw new IllegalArgumentException(op + ": axis " + axis + " out of range for shape " + x.shape());
            }
            return 0;
        }
        return x.shape().normalizeAxis(axis, op);
    }

    /** The first {@code k} of each run along {@code axis} in stable order, descending or ascending. */
    private static ValuesAndIndices pick(Tensor x, int axis, int k, boolean descending, String op) {
        if (x.shape().rank() == 0) {
            ValuesAndIndices r = pick(x.reshape(1), 0, k, descending, op);
            return k == 0
                    ? r
                    : new ValuesAndIndices(r.values().reshape(), r.indices().reshape());
        }
        int a = x.shape().normalizeAxis(axis, op);
        Shape s = x.shape();
        int n = s.dim(a);
        int outer = 1;
        for (int d = 0; d < a; d++) {
            outer = Math.multiplyExact(outer, s.dim(d));
        }
        int inner = 1;
        for (int d = a + 1; d < s.rank(); d++) {
            inner = Math.multiplyExact(inner, s.dim(d));
        }
        int[] outDims = s.dims();
        outDims[a] = k;
        int[] idx = new int[Math.multiplyExact(Math.multiplyExact(outer, inner), k)];
        if (idx.length > 0) {
            float[] v = x.contiguous().toFloatArray();
            long[] keys = new long[n];
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    for (int j = 0; j < n; j++) {
                        int key = orderKey(v[(o * n + j) * inner + i]);
                        // The index in the low half makes every key distinct, so the order of equal values is
                        // their order along the axis (stable), descending as well (~key reverses the values only).
                        keys[j] = ((long) (descending ? ~key : key) << 32) | j;
                    }
                    Arrays.sort(keys);
                    for (int r = 0; r < k; r++) {
                        idx[(o * k + r) * inner + i] = (int) keys[r];
                    }
                }
            }
        }
        Tensor indices = Tensor.ofInts(x.backend(), idx, outDims);
        return new ValuesAndIndices(x.gather(a, indices), indices);
    }

    /**
     * An int whose signed order is PyTorch's order of floats: {@code -inf < ... < -0.0 = 0.0 < ... < inf < NaN}.
     */
    static int orderKey(float f) {
        int bits = Float.floatToIntBits(f == 0f ? 0f : f); // one NaN, one zero
        return bits < 0 ? bits ^ 0x7fffffff : bits;
    }
}
