package dev.gradus.spi;

/**
 * Elementwise ops of two inputs; {@code out[i] = f(a[i], b[i])} after broadcasting.
 *
 * <p>The {@code *_GRAD} ops fuse an activation's backward pass: {@code a} is the incoming gradient and
 * {@code b} the saved forward value.
 */
public enum BinaryOp {
    ADD,
    SUB,
    MUL,
    DIV,
    MAXIMUM,
    MINIMUM,
    /** {@code a == b ? 1 : 0}. */
    EQ,
    /** {@code a != b ? 1 : 0} (true where either is NaN). */
    NE,
    /** {@code a > b ? 1 : 0}. */
    GT,
    /** {@code a < b ? 1 : 0}. */
    LT,
    /** {@code a >= b ? 1 : 0}. */
    GE,
    /** {@code a <= b ? 1 : 0}. */
    LE,
    /**
     * {@code b != 0 ? a : 0}: {@code a} where the mask {@code b} is set. A select, not a product: a NaN or an
     * infinity of {@code a} outside the mask gives 0.
     */
    MASK,
    /**
     * {@code b <= 0 ? 0 : a}, with {@code b} the ReLU input or output, as PyTorch's {@code threshold_backward}: a NaN
     * {@code b} passes {@code a} on, and an infinite {@code a} where {@code b <= 0} gives 0 (not {@code inf * 0}).
     */
    RELU_GRAD,
    /** {@code a * b * (1 - b)}, with {@code b} the sigmoid output. */
    SIGMOID_GRAD,
    /** {@code a * (1 - b * b)}, with {@code b} the tanh output. */
    TANH_GRAD
}
