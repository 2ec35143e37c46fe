package dev.gradus.spi;

import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * Ops that address one axis through an {@code INT32} index tensor, as {@code torch.gather} and
 * {@code torch.Tensor.scatter_add_}; see {@link Backend#index}.
 */
public enum IndexOp {
    /** {@code out[p] = x[p with p[axis] = index[p]]} for every position {@code p} of {@code index}. */
    GATHER,
    /** {@code out[p with p[axis] = index[p]] += x[p]} for every position {@code p} of {@code index}. */
    SCATTER_ADD;

    /**
     * Checks, for a backend before it writes anything, that every index of {@code index} lies in
     * {@code [0, size)}; {@code valueAt} reads the index storage's element at a storage offset.
     *
     * @throws IllegalArgumentException naming the op, the first bad index and its position
     */
    public void check(int axis, Layout index, IntUnaryOperator valueAt, int size) {
        int[] c = new int[index.rank()];
        for (int i = 0, n = index.numel(); i < n; i++, Layout.next(c, index.shape())) {
            int k = valueAt.applyAsInt(index.offsetOf(c));
            if (k < 0 || k >= size) {
                throw new IllegalArgumentException(name().toLowerCase() + ": index " + k + " at " + Arrays.toString(c)
                        + " is outside [0, " + size + ") of axis " + axis);
            }
        }
    }
}
