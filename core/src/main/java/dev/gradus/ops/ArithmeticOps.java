package dev.gradus.ops;

import static dev.gradus.ops.BuiltIn.needs;

import dev.gradus.Tensor;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.UnaryOp;

/**
 * The arithmetic ops, each forward beside its gradient: {@code add}, {@code sub}, {@code mul}, {@code div},
 * {@code maximum}, {@code minimum} (broadcasting; each gradient summed back to its input's shape with
 * {@link Tensor#sumTo}), and {@code addScalar}, {@code mulScalar}, {@code pow}, {@code neg}. {@link Tensor}'s
 * methods call these.
 *
 * <p>Shapes: a binary op's output is the broadcast of its inputs; a scalar op's has its input's shape.
 *
 * <pre>{@code Tensor y = ArithmeticOps.MUL.apply(a, b);   // a.mul(b)}</pre>
 */
public final class ArithmeticOps {
    private ArithmeticOps() {}

    /** {@code a + b} with broadcasting. */
    public static final Op ADD = binary("add", BinaryOp.ADD, (d, out, in, s) ->
            new Tensor[] {needs(in, 0) ? d.sumTo(in[0].shape()) : null, needs(in, 1) ? d.sumTo(in[1].shape()) : null});

    /** {@code a - b} with broadcasting. */
    public static final Op SUB = binary("sub", BinaryOp.SUB, (d, out, in, s) -> new Tensor[] {
        needs(in, 0) ? d.sumTo(in[0].shape()) : null, needs(in, 1) ? d.neg().sumTo(in[1].shape()) : null
    });

    /** {@code a * b} elementwise with broadcasting. */
    public static final Op MUL = binary("mul", BinaryOp.MUL, (d, out, in, s) -> new Tensor[] {
        needs(in, 0) ? d.mul(in[1]).sumTo(in[0].shape()) : null,
        needs(in, 1) ? d.mul(in[0]).sumTo(in[1].shape()) : null
    });

    /** {@code a / b} elementwise with broadcasting; {@code d(a/b)/db = -(a/b)/b} reads the output back. */
    public static final Op DIV = binary("div", BinaryOp.DIV, (d, out, in, s) -> new Tensor[] {
        needs(in, 0) ? d.div(in[1]).sumTo(in[0].shape()) : null,
        needs(in, 1) ? d.mul(out).div(in[1]).neg().sumTo(in[1].shape()) : null
    });

    /** The elementwise maximum with broadcasting; where equal, the gradient goes to {@code a}. */
    public static final Op MAXIMUM = binary("maximum", BinaryOp.MAXIMUM, (d, out, in, s) -> new Tensor[] {
        needs(in, 0) ? d.mul(in[0].applyKernel("maximum", BinaryOp.EQ, out)).sumTo(in[0].shape()) : null,
        needs(in, 1)
                ? d.mul(in[0].applyKernel("maximum", BinaryOp.EQ, out).rsub(1f)).sumTo(in[1].shape())
                : null
    });

    /** The elementwise minimum with broadcasting; where equal, the gradient goes to {@code a}, as maximum's. */
    public static final Op MINIMUM = Op.builder("minimum")
            .arity(2)
            .builtIn((in, s) -> in[0].requireFloat("minimum")
                    .applyKernel("minimum", BinaryOp.MINIMUM, in[1].requireFloat("minimum")))
            .gradient((d, out, in, s) -> new Tensor[] {
                needs(in, 0)
                        ? d.applyKernel("minimum", BinaryOp.MASK, in[0].applyKernel("minimum", BinaryOp.EQ, out))
                                .sumTo(in[0].shape())
                        : null,
                needs(in, 1)
                        ? d.applyKernel("minimum", BinaryOp.MASK, in[0].applyKernel("minimum", BinaryOp.NE, out))
                                .sumTo(in[1].shape())
                        : null
            })
            .build();

    /** {@code x + s}. */
    public static final Op ADD_SCALAR = scalar("addScalar", UnaryOp.ADD_SCALAR, (d, out, in, s) -> new Tensor[] {d});

    /** {@code x * s}. */
    public static final Op MUL_SCALAR =
            scalar("mulScalar", UnaryOp.MUL_SCALAR, (d, out, in, s) -> new Tensor[] {d.mul(s)});

    /** {@code x ^ p} elementwise; gradient {@code p x^(p-1)}. */
    public static final Op POW = scalar("pow", UnaryOp.POW_SCALAR, (d, out, in, p) ->
            new Tensor[] {d.mul(in[0].pow(p - 1f)).mul(p)});

    /** {@code -x}. */
    public static final Op NEG = Op.builder("neg")
            .arity(1)
            .builtIn((in, s) -> in[0].applyKernel("neg", UnaryOp.NEG, 0f))
            .gradient((d, out, in, s) -> new Tensor[] {d.neg()})
            .build();

    private static Op binary(String name, BinaryOp op, BuiltIn.Gradient gradient) {
        return Op.builder(name)
                .arity(2)
                .builtIn((in, s) -> in[0].applyKernel(name, op, in[1]))
                .gradient(gradient)
                .build();
    }

    private static Op scalar(String name, UnaryOp op, BuiltIn.Gradient gradient) {
        return Op.builder(name)
                .arity(1)
                .builtInScalar((in, s) -> in[0].applyKernel(name, op, s))
                .gradient(gradient)
                .build();
    }
}
