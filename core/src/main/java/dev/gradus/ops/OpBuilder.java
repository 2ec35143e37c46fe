package dev.gradus.ops;

import dev.gradus.Tensor;
import dev.gradus.spi.CudaSource;
import dev.gradus.spi.JavaKernel;
import java.util.function.Function;

/**
 * Builds an {@link Op}: either kernels ({@link #shape} and {@link #cpu}, optionally {@link #cuda}) or a
 * {@link #composed} forward over other ops; optionally a {@link #backward}.
 *
 * <pre>{@code
 * Op twice = Op.builder("twice")
 *         .shape(ShapeRule.sameShapes())
 *         .cpu((in, shapes, out, outShape) -> { for (int i = 0; i < out.limit(); i++) out.put(i, 2 * in[0].get(i)); })
 *         .backward((d, out, in) -> new Tensor[] {d.mul(2f)})
 *         .build();
 * }</pre>
 */
public final class OpBuilder {
    final String name;
    int arity = -1;
    ShapeRule shape;
    JavaKernel cpu;
    CudaSource cuda;
    Function<Tensor[], Tensor> composed;
    OpBackward backward;
    BuiltIn.Forward builtInForward;
    BuiltIn.Gradient builtInGradient;
    boolean takesScalar;
    boolean builtInDifferentiable = true;

    OpBuilder(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("Op: a name is required");
        }
        this.name = name;
    }

    /** The number of inputs the op takes; any number when not set. */
    public OpBuilder arity(int inputs) {
        if (inputs < 1) {
            throw new IllegalArgumentException(name + ": arity must be at least 1, got " + inputs);
        }
        this.arity = inputs;
        return this;
    }

    /** The output-shape rule (required with a kernel). */
    public OpBuilder shape(ShapeRule rule) {
        this.shape = rule;
        return this;
    }

    /** The Java kernel every backend can run (required unless the op is {@link #composed}). */
    public OpBuilder cpu(JavaKernel kernel) {
        this.cpu = kernel;
        return this;
    }

    /** A CUDA kernel for the CUDA backend, with {@link CudaSource}'s launch contract. */
    public OpBuilder cuda(String source, String entry) {
        this.cuda = new CudaSource(source, entry);
        return this;
    }

    /**
     * A forward written in other ops instead of kernels. Without a {@link #backward}, gradients flow through those
     * ops; with one, the forward runs with gradients off and the backward is recorded for the whole op.
     */
    public OpBuilder composed(Function<Tensor[], Tensor> forward) {
        this.composed = forward;
        return this;
    }

    /** The backward; without one a kernel op is not differentiable and says so when a gradient is asked of it. */
    public OpBuilder backward(OpBackward rule) {
        this.backward = rule;
        return this;
    }

    /** A built-in op's forward (the op families in this package only). */
    OpBuilder builtIn(BuiltIn.Forward forward) {
        this.builtInForward = forward;
        return this;
    }

    /** A built-in op's forward that reads a scalar attribute, given to {@link Op#apply(Tensor, float)}. */
    OpBuilder builtInScalar(BuiltIn.Forward forward) {
        this.takesScalar = true;
        return builtIn(forward);
    }

    /** A built-in op's gradient; without one, gradients flow through the recorded ops its forward is made of. */
    OpBuilder gradient(BuiltIn.Gradient rule) {
        this.builtInGradient = rule;
        return this;
    }

    /** A built-in op without a gradient (a comparison). */
    OpBuilder noGradient() {
        this.builtInDifferentiable = false;
        return this;
    }

    /**
     * The immutable op.
     *
     * @throws IllegalArgumentException naming the op when it has both or neither of a kernel and a composed
     *     forward, a kernel without a shape rule, or a CUDA source without a Java kernel
     */
    public Op build() {
        if (builtInForward != null) {
            if (arity < 1 || cpu != null || cuda != null || composed != null || backward != null) {
                throw new IllegalStateException(name + ": a built-in op has an arity, a forward and a gradient only");
            }
            return new Op(this);
        }
        if (composed != null && (cpu != null || cuda != null)) {
            throw new IllegalArgumentException(name + ": an op has kernels or a composed forward, not both");
        }
        if (composed == null && cpu == null) {
            throw new IllegalArgumentException(name + ": give a Java kernel (cpu) or a composed forward"
                    + (cuda != null ? "; a CUDA source alone does not run on the other backends" : ""));
        }
        if (cpu != null && shape == null) {
            throw new IllegalArgumentException(name + ": an op with a kernel needs a shape rule");
        }
        return new Op(this);
    }
}
