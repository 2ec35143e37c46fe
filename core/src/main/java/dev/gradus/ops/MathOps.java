package dev.gradus.ops;

import dev.gradus.Tensor;
import dev.gradus.spi.UnaryOp;

/**
 * The elementwise math functions, each forward beside its gradient: {@code exp}, {@code log}, {@code sqrt},
 * {@code abs}, {@code erf}, {@code sin}, {@code cos}. {@link Tensor}'s methods call these.
 *
 * <p>Shapes: any; the output has the input's shape.
 *
 * <pre>{@code Tensor y = MathOps.EXP.apply(x);   // x.exp()}</pre>
 */
public final class MathOps {
    private MathOps() {}

    private static final float TWO_OVER_SQRT_PI = (float) (2 / Math.sqrt(Math.PI));

    /** {@code e ^ x}; gradient {@code e ^ x}, the output itself. */
    public static final Op EXP = unary("exp", UnaryOp.EXP, (d, out, in, s) -> new Tensor[] {d.mul(out)});

    /** The natural logarithm; gradient {@code 1 / x}. */
    public static final Op LOG = unary("log", UnaryOp.LOG, (d, out, in, s) -> new Tensor[] {d.div(in[0])});

    /** The square root; gradient {@code 0.5 / sqrt(x)}, from the output. */
    public static final Op SQRT = unary(
            "sqrt", UnaryOp.SQRT, (d, out, in, s) -> new Tensor[] {d.div(out).mul(0.5f)});

    /** The absolute value; gradient {@code sign(x)}, 0 at 0: {@code (x > 0) - (-x > 0)}. */
    public static final Op ABS = unary("abs", UnaryOp.ABS, (d, out, in, s) -> {
        Tensor x = in[0];
        Tensor sign =
                x.applyKernel("abs", UnaryOp.GT_SCALAR, 0f).sub(x.neg().applyKernel("abs", UnaryOp.GT_SCALAR, 0f));
        return new Tensor[] {d.mul(sign)};
    });

    /** The error function; gradient {@code 2/sqrt(pi) * exp(-x^2)}. */
    public static final Op ERF = unary("erf", UnaryOp.ERF, (d, out, in, s) -> {
        Tensor x = in[0];
        return new Tensor[] {d.mul(x.mul(x).mul(-1f).exp().mul(TWO_OVER_SQRT_PI))};
    });

    /** The sine (radians); gradient {@code cos(x)}. */
    public static final Op SIN = unary("sin", UnaryOp.SIN, (d, out, in, s) -> new Tensor[] {d.mul(in[0].cos())});

    /** The cosine (radians); gradient {@code -sin(x)}. */
    public static final Op COS = unary("cos", UnaryOp.COS, (d, out, in, s) ->
            new Tensor[] {d.mul(in[0].sin()).neg()});

    /** An op of one backend kernel with its gradient. */
    static Op unary(String name, UnaryOp op, BuiltIn.Gradient gradient) {
        return Op.builder(name)
                .arity(1)
                .builtIn((in, s) -> in[0].applyKernel(name, op, 0f))
                .gradient(gradient)
                .build();
    }
}
