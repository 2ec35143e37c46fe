package dev.gradus.spi;

/**
 * What a backend op reads or writes: a storage and the layout of the tensor's elements in it. Every tensor
 * argument of {@link Backend} is one; element-wise ops, reductions and GEMM take any strides, the fused kernels
 * (convolution, pooling, batch norm, log-softmax, one-hot) take {@linkplain Layout#isDense dense}
 * ones and check.
 *
 * <pre>{@code
 * Operand x = Operand.dense(storage, 2, 3);      // [2, 3] row-major from element 0
 * backend.unary(UnaryOp.RELU, 0f, x, x);
 * }</pre>
 */
public record Operand(Storage storage, Layout layout) {

    /** A row-major operand of {@code shape} from element 0 of {@code storage}. */
    public static Operand dense(Storage storage, int... shape) {
        return new Operand(storage, Layout.contiguous(shape));
    }

    /** The dimensions, outermost first. */
    public int[] shape() {
        return layout.shape();
    }

    /** Number of elements. */
    public int numel() {
        return layout.numel();
    }

    /**
     * Checks that every non-null operand is dense, for a backend's fused kernel.
     *
     * @throws IllegalArgumentException naming {@code op} and the first operand that is not
     */
    public static void requireDense(String op, Operand... operands) {
        for (Operand o : operands) {
            if (o != null && !o.layout.isDense()) {
                throw new IllegalArgumentException(
                        op + ": needs dense operands (row-major from element 0), got " + o.layout);
            }
        }
    }
}
