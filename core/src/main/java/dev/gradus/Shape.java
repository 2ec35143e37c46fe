package dev.gradus;

import java.util.Arrays;

/**
 * An immutable list of dimension sizes, outermost first (NumPy/PyTorch order).
 *
 * <p>{@code Shape.of(32, 784)} is a batch of 32 rows of 784 features; {@code Shape.of()} is a scalar.
 */
public final class Shape {
    private final int[] dims;
    private final long numel;

    private Shape(int[] dims) {
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException(
                        "shape: negative dimension " + dims[i] + " at axis " + i + " in " + Arrays.toString(dims));
            }
            try {
                n = Math.multiplyExact(n, dims[i]);
            } catch (ArithmeticException overflow) {
                throw new IllegalArgumentException("shape: " + Arrays.toString(dims)
                        + " has more than 2^63-1 elements, more than the 2^31-1 a tensor may hold");
            }
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape: " + Arrays.toString(dims) + " has " + n + " elements ("
                    + Math.multiplyExact(n, 4L) + " bytes as float32), more than the 2^31-1 a tensor may hold");
        }
        this.dims = dims;
        this.numel = n;
    }

    /** A shape with the given dimensions, e.g. {@code Shape.of(2, 3)}. */
    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    /** Number of dimensions. */
    public int rank() {
        return dims.length;
    }

    /** Size of axis {@code axis}; negative axes count from the end. */
    public int dim(int axis) {
        return dims[normalizeAxis(axis, "dim")];
    }

    /** Total number of elements. */
    public int numel() {
        return (int) numel;
    }

    /** A copy of the dimension sizes. */
    public int[] dims() {
        return dims.clone();
    }

    /** Maps a possibly negative axis to {@code [0, rank)}, naming {@code op} on failure. */
    public int normalizeAxis(int axis, String op) {
        int a = axis < 0 ? axis + dims.length : axis;
        if (a < 0 || a >= dims.length) {
            throw new IllegalArgumentException(op + ": axis " + axis + " out of range for shape " + this);
        }
        return a;
    }

    /** Row-major (C order) strides in elements. */
    public int[] contiguousStrides() {
        int[] s = new int[dims.length];
        int acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(1, dims[i]); // numel fits an int, so the product of the non-zero sizes does too
        }
        return s;
    }

    /** This shape with axis {@code axis} removed ({@code keepDim=false}) or set to 1. */
    public Shape reduce(int axis, boolean keepDim) {
        int a = normalizeAxis(axis, "reduce");
        if (keepDim) {
            int[] d = dims.clone();
            d[a] = 1;
            return new Shape(d);
        }
        int[] d = new int[dims.length - 1];
        for (int i = 0, j = 0; i < dims.length; i++) {
            if (i != a) {
                d[j++] = dims[i];
            }
        }
        return new Shape(d);
    }

    /**
     * The NumPy broadcast of two shapes: dimensions are aligned from the right and must be equal or 1.
     *
     * <p>{@code [32, 1, 5]} and {@code [4, 5]} broadcast to {@code [32, 4, 5]}.
     */
    public static Shape broadcast(String op, Shape a, Shape b) {
        int r = Math.max(a.rank(), b.rank());
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.rank() ? 1 : a.dims[i - (r - a.rank())];
            int db = i < r - b.rank() ? 1 : b.dims[i - (r - b.rank())];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + a + " and " + b + " do not broadcast (axis " + i
                        + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return new Shape(out);
    }

    /**
     * This shape's elements in {@code newShape}, where one dimension may be -1 (inferred).
     *
     * <p>{@code Shape.of(2, 6).reshape(3, -1)} is {@code [3, 4]}.
     *
     * @throws IllegalArgumentException when the sizes do not match or more than one dimension is -1
     */
    public Shape reshape(int... newShape) {
        int[] d = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("reshape: more than one -1 in " + Arrays.toString(newShape));
                }
                infer = i;
            } else {
                try {
                    known = Math.multiplyExact(known, d[i]);
                } catch (ArithmeticException overflow) {
                    throw new IllegalArgumentException("reshape: " + this + " (" + numel() + " elements) cannot become "
                            + Arrays.toString(newShape));
                }
            }
        }
        if (infer >= 0 && known != 0) {
            d[infer] = (int) (numel() / known);
        }
        Shape target = of(d);
        if (target.numel() != numel()) {
            throw new IllegalArgumentException(
                    "reshape: " + this + " (" + numel() + " elements) cannot become " + Arrays.toString(newShape));
        }
        return target;
    }

    /** This shape with a size-1 axis inserted at {@code axis} (0 to rank). */
    Shape unsqueeze(int axis) {
        int[] nd = new int[dims.length + 1];
        for (int i = 0, j = 0; i < nd.length; i++) {
            nd[i] = i == axis ? 1 : dims[j++];
        }
        return new Shape(nd);
    }

    /**
     * The shapes of a batched matrix product {@code a x b} (both rank 2 or more): index 0 the output
     * {@code [..., M, N]}, 1 and 2 the operands broadcast to the common batch ({@code [..., M, K]},
     * {@code [..., K, N]}).
     *
     * @throws IllegalArgumentException when the inner dimensions or the batch dimensions disagree
     */
    public static Shape[] matmul(Shape a, Shape b) {
        int m = a.dim(-2);
        int k = a.dim(-1);
        int k2 = b.dim(-2);
        int n = b.dim(-1);
        if (k != k2) {
            throw new IllegalArgumentException(
                    "matmul: " + a + " x " + b + " (inner dimensions " + k + " and " + k2 + " differ)");
        }
        Shape batch =
                broadcast("matmul", of(Arrays.copyOf(a.dims, a.rank() - 2)), of(Arrays.copyOf(b.dims, b.rank() - 2)));
        return new Shape[] {batch.append(m, n), batch.append(m, k), batch.append(k, n)};
    }

    private Shape append(int rows, int cols) {
        int[] d = Arrays.copyOf(dims, dims.length + 2);
        d[dims.length] = rows;
        d[dims.length + 1] = cols;
        return new Shape(d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
