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

    /** Number of elements. */
    public int numel() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
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
        return o instanceof Layout l && offset == l.offset && Arrays.equals(shape, l.shape)
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
