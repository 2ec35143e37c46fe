package dev.gradus.spi;

/**
 * The {@code [N, C, rest]} view batch norm works on, for backends: {@code rest} is the product of the dimensions
 * after the channel axis (1 for {@code [N, C]}).
 *
 * <p>{@code BatchNormDims d = BatchNormDims.of("batchNormTrain", x, args, out)}: for {@code x [32, 16, 7, 7]},
 * {@code n = 32, c = 16, hw = 49}.
 */
public record BatchNormDims(int n, int c, int hw) {
    /**
     * The view of {@code x}, after checking that {@code x}, the operands of {@code p} and {@code others} (nulls
     * skipped) are dense.
     *
     * @throws IllegalArgumentException naming {@code op} and the first operand that is not dense
     */
    public static BatchNormDims of(String op, Operand x, BatchNormArgs p, Operand... others) {
        Operand.requireDense(op, p.operands());
        return of(op, x, others);
    }

    /** The view of {@code x}, after checking that {@code x} and {@code others} (nulls skipped) are dense. */
    public static BatchNormDims of(String op, Operand x, Operand... others) {
        Operand.requireDense(op, x);
        Operand.requireDense(op, others);
        int[] s = x.shape();
        int rest = 1;
        for (int i = 2; i < s.length; i++) {
            rest *= s[i];
        }
        return new BatchNormDims(s[0], s[1], rest);
    }
}
