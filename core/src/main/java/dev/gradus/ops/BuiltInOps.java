package dev.gradus.ops;

/**
 * Where the built-in ops are: every elementwise op of {@link dev.gradus.Tensor} is an {@link Op}, its forward
 * beside its gradient, in one file per family: {@link ArithmeticOps}, {@link MathOps}, {@link ActivationOps},
 * {@link ComparisonOps}; the fused recurrent cells are {@link LstmCell} and {@link GruCell}. The fields here
 * name a few of them as before.
 *
 * <p>Shapes: any; each output has its input's shape.
 *
 * <pre>{@code Tensor y = BuiltInOps.SILU.apply(x);   // same as Activations.silu(x)}</pre>
 */
public final class BuiltInOps {
    private BuiltInOps() {}

    /** The sine, elementwise (radians); {@link MathOps#SIN}. */
    public static final Op SIN = MathOps.SIN;

    /** The cosine, elementwise (radians); {@link MathOps#COS}. */
    public static final Op COS = MathOps.COS;

    /** {@code x * sigmoid(x)} ({@code F.silu}); {@link ActivationOps#SILU}. */
    public static final Op SILU = ActivationOps.SILU;

    /** GELU with the tanh approximation; {@link ActivationOps#GELU_TANH}. */
    public static final Op GELU_TANH = ActivationOps.GELU_TANH;
}
