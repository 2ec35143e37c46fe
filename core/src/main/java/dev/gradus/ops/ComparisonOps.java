package dev.gradus.ops;

import dev.gradus.Tensor;
import dev.gradus.spi.BinaryOp;

/**
 * The comparisons, without gradients: {@code 1.0} where the relation holds, else {@code 0.0}, broadcasting, as
 * {@code torch.eq}, {@code ne}, {@code gt}, {@code lt}, {@code ge}, {@code le}; {@code INT32} inputs are compared
 * as floats. {@link Tensor}'s methods call these.
 *
 * <p>Shapes: the broadcast of both inputs.
 *
 * <pre>{@code Tensor mask = ComparisonOps.GT.apply(x, y);   // x.gt(y)}</pre>
 */
public final class ComparisonOps {
    private ComparisonOps() {}

    /** {@code a == b}. */
    public static final Op EQ = compare("eq", BinaryOp.EQ);

    /** {@code a != b}. */
    public static final Op NE = compare("ne", BinaryOp.NE);

    /** {@code a > b}. */
    public static final Op GT = compare("gt", BinaryOp.GT);

    /** {@code a < b}. */
    public static final Op LT = compare("lt", BinaryOp.LT);

    /** {@code a >= b}. */
    public static final Op GE = compare("ge", BinaryOp.GE);

    /** {@code a <= b}. */
    public static final Op LE = compare("le", BinaryOp.LE);

    private static Op compare(String name, BinaryOp op) {
        return Op.builder(name)
                .arity(2)
                .builtIn((in, s) -> {
                    Tensor a = in[0].requireOpen(name);
                    Tensor b = in[1].requireOpen(name);
                    return a.toFloat().applyKernel(name, op, b.toFloat());
                })
                .noGradient()
                .build();
    }
}
