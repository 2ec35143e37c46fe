package dev.gradus.ops;

import dev.gradus.Autograd;
import dev.gradus.Tensor;

/**
 * How the built-in ops are written and run: a forward over the inputs and the op's scalar attribute (the
 * {@code s} of {@code x.mul(s)}), and a gradient beside it. Package-private, so only the op families here take
 * this path, which skips {@code OpCall}'s checks, copies and output scan that guard users' kernels: the forwards
 * call the backend's kernels through {@link Tensor#applyKernel(String, dev.gradus.spi.UnaryOp, float)}, which
 * checks its operands and names the op.
 *
 * <p>Shapes: each op's own.
 *
 * <pre>{@code
 * Op exp = Op.builder("exp").arity(1)
 *         .builtIn((in, s) -> in[0].applyKernel("exp", UnaryOp.EXP, 0f))
 *         .gradient((d, out, in, s) -> new Tensor[] {d.mul(out)})
 *         .build();
 * }</pre>
 */
final class BuiltIn {
    private BuiltIn() {}

    /** A built-in op's forward: not recorded when it has a {@link Gradient}, so it calls kernels only. */
    @FunctionalInterface
    interface Forward {
        Tensor apply(Tensor[] in, float s);
    }

    /** A built-in op's backward: the inputs' gradients, null for an input that does not require one. */
    @FunctionalInterface
    interface Gradient {
        Tensor[] apply(Tensor dOut, Tensor out, Tensor[] in, float s);
    }

    /**
     * Runs {@code op}'s forward on {@code given} and records its gradient, if it has one; {@code ours} when the
     * array is not the caller's (then it is kept without a copy).
     */
    static Tensor apply(Op op, Tensor[] given, float s, boolean ours) {
        if (given.length != op.arity()) {
            throw new IllegalArgumentException(
                    op.name() + ": takes " + op.arity() + " inputs, got " + given.length + ": " + OpCall.shapes(given));
        }
        Tensor out = op.builtInForward().apply(given, s);
        Gradient g = op.builtInGradient();
        if (g == null) {
            return out; // not differentiable, or differentiable through the recorded ops it is made of
        }
        Tensor[] in = ours ? given : given.clone(); // the gradient keeps it; a caller may refill its array
        return Autograd.record(out, op.name(), d -> g.apply(d, out, in, s), in);
    }

    /** Whether input {@code j} needs a gradient (a rule skips the work for one that does not). */
    static boolean needs(Tensor[] in, int j) {
        return in[j].requiresGrad();
    }
}
