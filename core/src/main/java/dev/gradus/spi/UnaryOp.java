package dev.gradus.spi;

/**
 * Elementwise ops of one input and an optional scalar {@code s}; {@code out[i] = f(x[i], s)}.
 *
 * <p>Adding an op means a new constant here and a case in each backend, never a new {@link Backend} method.
 */
public enum UnaryOp {
    /** {@code x} (a strided copy). */
    IDENTITY,
    NEG,
    EXP,
    LOG,
    SQRT,
    ABS,
    RELU,
    SIGMOID,
    TANH,
    /** {@code x + s}. */
    ADD_SCALAR,
    /** {@code x * s}. */
    MUL_SCALAR,
    /** {@code x ^ s}. */
    POW_SCALAR,
    /** {@code x > s ? 1 : 0}. */
    GT_SCALAR,
    /** The error function {@code 2/sqrt(pi) * integral_0^x exp(-t^2) dt}. */
    ERF,
    /** The sine of {@code x} (radians). */
    SIN,
    /** The cosine of {@code x} (radians). */
    COS
}
