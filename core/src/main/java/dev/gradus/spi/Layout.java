package dev.gradus.spi;

import java.util.Arrays;

/**
 * Where the elements of a tensor sit in its storage: sizes, strides (in elements, 0 for a broadcast axis) and
 * the offset of the first element.
 *
 * <p>A contiguous {@code [2, 3]} tensor has strides {@code [3, 1]}; its transpose has shape {@code [3, 2]} and
 * strides {@code [1, 3]}.
 */
public record Layout(int[] shape, int[] strides, int offset) {

    /** A row-major layout of the given shape starting at element 0. */
    public static Layout contiguous(int... shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return new Layout(shape, s, 0);
    }

    /**
     * This layout stretched to {@code target} (aligned from the right, NumPy rules) with stride 0 on the axes it
     * repeats; the caller has checked that the shapes broadcast.
     *
     * <p>{@code Layout.contiguous(3).broadcastTo(2, 3)} is {@code [2, 3]/[0, 1]}.
     */
    public Layout broadcastTo(int... target) {
        if (Arrays.equals(target, shape)) {
            return this;
        }
        int[] st = new int[target.length];
        int lead = target.length - shape.length;
        for (int i = lead; i < target.length; i++) {
            int d = shape[i - lead];
            st[i] = d == 1 && target[i] != 1 ? 0 : strides[i - lead];
        }
        return new Layout(target.clone(), st, offset);
    }

    /** The same elements with axes {@code a} and {@code b} swapped (both already normalised). */
    public Layout transpose(int a, int b) {
        int[] sh = shape.clone();
        int[] st = strides.clone();
        sh[a] = shape[b];
        sh[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return new Layout(sh, st, offset);
    }

    /** The same elements with axis {@code i} of the result being axis {@code order[i]} of this layout. */
    public Layout permute(int[] order) {
        int[] sh = new int[order.length];
        int[] st = new int[order.length];
        for (int i = 0; i < order.length; i++) {
            sh[i] = shape[order[i]];
            st[i] = strides[order[i]];
        }
        return new Layout(sh, st, offset);
    }

    /** Elements {@code start .. start+length-1} of axis {@code axis} (already normalised and in range). */
    public Layout narrow(int axis, int start, int length) {
        int[] sh = shape.clone();
        sh[axis] = length;
        return new Layout(sh, strides, offset + start * strides[axis]);
    }

    /** A contiguous layout of {@code newShape} over the same elements; this layout must be contiguous. */
    public Layout reshape(int... newShape) {
        return new Layout(newShape.clone(), contiguous(newShape).strides, offset);
    }

    /** True when contiguous and starting at element 0: what the fused kernels (convolution, optimizers) take. */
    public boolean isDense() {
        return offset == 0 && isContiguous();
    }

    /** Number of elements. */
    public int numel() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    /**
     * Product of the dimensions before {@code axis}: how many independent runs a reduction over {@code axis} has
     * ahead of it. For {@code [2, 3, 4]}, {@code outer(1) = 2}.
     */
    public int outer(int axis) {
        int n = 1;
        for (int d = 0; d < axis; d++) {
            n *= shape[d];
        }
        return n;
    }

    /** Product of the dimensions after {@code axis}. For {@code [2, 3, 4]}, {@code inner(1) = 4}. */
    public int inner(int axis) {
        int n = 1;
        for (int d = axis + 1; d < shape.length; d++) {
            n *= shape[d];
        }
        return n;
    }

    /** Storage offset of the element at coordinates {@code c}: {@code offset + sum(c[d] * strides[d])}. */
    public int offsetOf(int[] c) {
        int at = offset;
        for (int d = 0; d < c.length; d++) {
            at += c[d] * strides[d];
        }
        return at;
    }

    /**
     * Advances coordinates {@code c} to the next element of {@code shape} in row-major order, wrapping to all
     * zeros after the last: {@code for (int i = 0; i < n; i++, Layout.next(c, shape))} visits every element.
     */
    public static void next(int[] c, int[] shape) {
        for (int d = c.length - 1; d >= 0; d--) {
            if (++c[d] < shape[d]) {
                return;
            }
            c[d] = 0;
        }
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** True when the elements are dense and in row-major order (offset may be non-zero). */
    public boolean isContiguous() {
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != acc) {
                return false;
            }
            acc *= shape[i];
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Layout l
                && offset == l.offset
                && Arrays.equals(shape, l.shape)
                && Arrays.equals(strides, l.strides);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(shape) + Arrays.hashCode(strides)) + offset;
    }

    @Override
    public String toString() {
        return "Layout" + Arrays.toString(shape) + "/" + Arrays.toString(strides) + "@" + offset;
    }
}
