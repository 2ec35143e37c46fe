package dev.gradus.ops;

import dev.gradus.Tensor;
import dev.gradus.spi.UnaryOp;

/**
 * The built-in ops defined through {@link Op} today (the rest still live in {@code Elementwise}, {@code Functional}
 * and their neighbours): {@code sin} and {@code cos} (a backend kernel with its backward beside it), and SiLU and
 * tanh-GELU (composed, their gradients from their parts). {@code Tensor.sin()}, {@code Tensor.cos()},
 * {@code Activations.silu} and {@code Activations.geluTanh} call these; results and speed are those of the code
 * they replace.
 *
 * <p>Shapes: any; each output has its input's shape.
 *
 * <pre>{@code Tensor y = BuiltInOps.SILU.apply(x);   // same as Activations.silu(x)}</pre>
 */
public final class BuiltInOps {
    private BuiltInOps() {}

    /** The sine, elementwise (radians); gradient {@code cos(x)}. */
    public static final Op SIN = Op.builder("sin")
            .arity(1)
            .composed(in -> in[0].applyKernel(UnaryOp.SIN, 0f))
            .backward((d, out, in) -> new Tensor[] {d.mul(in[0].cos())})
            .build();

    /** The cosine, elementwise (radians); gradient {@code -sin(x)}. */
    public static final Op COS = Op.builder("cos")
            .arity(1)
            .composed(in -> in[0].applyKernel(UnaryOp.COS, 0f))
            .backward((d, out, in) -> new Tensor[] {d.mul(in[0].sin()).neg()})
            .build();

    /** {@code x * sigmoid(x)} ({@code F.silu}). */
    public static final Op SILU = Op.builder("silu")
            .arity(1)
            .composed(in -> in[0].mul(in[0].sigmoid()))
            .build();

    /** GELU with the tanh approximation: {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}. */
    public static final Op GELU_TANH = Op.builder("geluTanh")
            .arity(1)
            .composed(in -> {
                Tensor x = in[0];
                Tensor inner = x.add(x.pow(3f).mul(0.044715f)).mul((float) Math.sqrt(2 / Math.PI));
                return x.mul(inner.tanh().add(1f)).mul(0.5f);
            })
            .build();
}
