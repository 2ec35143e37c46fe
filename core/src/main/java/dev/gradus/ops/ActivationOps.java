package dev.gradus.ops;

import dev.gradus.Tensor;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.UnaryOp;

/**
 * The activations, with PyTorch's names: {@code relu}, {@code sigmoid}, {@code tanh} (one kernel forward, one
 * fused kernel of the incoming gradient and the output backward), and the composed ones whose gradients come
 * from their parts: tanh-GELU, SiLU, leaky ReLU; the exact {@code gelu} is the fused {@link GeluExact}. {@link Tensor} and
 * {@link dev.gradus.Activations} call these.
 *
 * <p>Shapes: any; the output has the input's shape.
 *
 * <pre>{@code Tensor h = ActivationOps.RELU.apply(x);   // x.relu()}</pre>
 */
public final class ActivationOps {
    private ActivationOps() {}

    /** {@code max(x, 0)}. */
    public static final Op RELU = fused("relu", UnaryOp.RELU, BinaryOp.RELU_GRAD);

    /** {@code 1 / (1 + e^-x)}. */
    public static final Op SIGMOID = fused("sigmoid", UnaryOp.SIGMOID, BinaryOp.SIGMOID_GRAD);

    /** The hyperbolic tangent. */
    public static final Op TANH = fused("tanh", UnaryOp.TANH, BinaryOp.TANH_GRAD);

    private static final float SQRT_TWO_OVER_PI = (float) Math.sqrt(2 / Math.PI);

    /** PyTorch's exact GELU, {@code x/2 * (1 + erf(x/sqrt(2)))}: defined once, in {@link GeluExact}. */
    public static final Op GELU = GeluExact.GELU;

    /** GELU with the tanh approximation: {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}. */
    public static final Op GELU_TANH = Op.builder("geluTanh")
            .arity(1)
            .builtIn((in, s) -> {
                Tensor x = in[0].requireOpen("geluTanh");
                Tensor inner = x.add(x.pow(3f).mul(0.044715f)).mul(SQRT_TWO_OVER_PI);
                return x.mul(inner.tanh().add(1f)).mul(0.5f);
            })
            .build();

    /** {@code x * sigmoid(x)}, the swish ({@code F.silu}). */
    public static final Op SILU = Op.builder("silu")
            .arity(1)
            .builtIn((in, s) -> in[0].requireOpen("silu").mul(in[0].sigmoid()))
            .build();

    /** {@code x} where positive, else {@code s * x} ({@code F.leaky_relu}); the scalar is the slope. */
    public static final Op LEAKY_RELU = Op.builder("leakyRelu")
            .arity(1)
            .builtInScalar((in, slope) -> Tensor.where(in[0].gt(0f), in[0], in[0].mul(slope)))
            .build();

    /** An activation whose backward is one fused kernel of the incoming gradient and the saved output. */
    private static Op fused(String name, UnaryOp forward, BinaryOp backward) {
        return Op.builder(name)
                .arity(1)
                .builtIn((in, s) -> in[0].applyKernel(name, forward, 0f))
                .gradient((d, out, in, s) -> new Tensor[] {d.applyKernel(name, backward, out)})
                .build();
    }
}
