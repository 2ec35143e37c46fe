package dev.gradus.ops;

import dev.gradus.Tensor;
import dev.gradus.spi.CudaSource;
import dev.gradus.spi.JavaKernel;
import dev.gradus.spi.OpKernels;
import java.util.function.Function;

/**
 * One op defined in one place: its name, its output-shape rule, its forward (a Java kernel with an optional CUDA
 * kernel, or a composition of other ops) and its backward. Immutable, made with {@link #builder}; safe to share
 * between threads. Users' ops and the built-in ones ({@link BuiltInOps} lists their families) go through it alike, on every backend,
 * without a backend of their own.
 *
 * <p>Shapes: whatever its {@link ShapeRule} says; {@link #apply} checks them before anything runs.
 *
 * <pre>{@code
 * Op fma = Op.builder("fma").arity(3)
 *         .shape(ShapeRule.sameShapes())
 *         .cpu((in, shapes, out, outShape) -> {
 *             for (int i = 0; i < out.limit(); i++) out.put(i, in[0].get(i) * in[1].get(i) + in[2].get(i));
 *         })
 *         .cuda(FMA_CU, "fma")                       // optional, see CudaSource for the contract
 *         .backward((d, out, in) -> new Tensor[] {d.mul(in[1]), d.mul(in[0]), d})
 *         .build();
 * Tensor y = fma.apply(a, b, c);                    // records the backward when a gradient is wanted
 * }</pre>
 */
public final class Op {
    private final String name;
    private final int arity;
    private final ShapeRule shape;
    private final OpKernels kernels;
    private final Function<Tensor[], Tensor> composed;
    private final OpBackward backward;
    private final BuiltIn.Forward builtInForward;
    private final BuiltIn.Gradient builtInGradient;
    private final boolean takesScalar;
    private final boolean builtInDifferentiable;

    Op(OpBuilder b) {
        this.name = b.name;
        this.arity = b.arity;
        this.shape = b.shape;
        this.kernels = b.cpu == null ? null : new OpKernels(b.name, b.cpu, b.cuda);
        this.composed = b.composed;
        this.backward = b.backward;
        this.builtInForward = b.builtInForward;
        this.builtInGradient = b.builtInGradient;
        this.takesScalar = b.takesScalar;
        this.builtInDifferentiable = b.builtInDifferentiable;
    }

    /** A builder for an op called {@code name} (the name errors and the autograd graph show). */
    public static OpBuilder builder(String name) {
        return new OpBuilder(name);
    }

    /**
     * Runs the op on {@code inputs}, all on one backend, and records its backward when gradients are on and an
     * input requires one; works inside and outside a {@code Scope} and under {@code GradMode.noGrad()}. A kernel op
     * takes FLOAT32 inputs of any layout (strided ones are copied to row-major first) and returns a new row-major
     * FLOAT32 tensor.
     *
     * <p>Shapes: the {@link ShapeRule}'s. {@code fma.apply(a, b, c)}
     *
     * @throws IllegalArgumentException naming the op and the shapes when the rule rejects them, or naming the op
     *     when the inputs are on different backends, the wrong number, released, or not FLOAT32
     */
    public Tensor apply(Tensor... inputs) {
        if (builtInForward == null) {
            return OpCall.apply(this, inputs);
        }
        if (takesScalar) {
            throw new IllegalArgumentException(name + ": takes a scalar as well: apply(x, s)");
        }
        return BuiltIn.apply(this, inputs, 0f, false);
    }

    /**
     * Runs a built-in op of one input and a scalar attribute ({@code mulScalar}'s factor, {@code pow}'s exponent,
     * {@code leakyRelu}'s slope), as {@link #apply(Tensor...)} does.
     *
     * <p>Shapes: the output has {@code x}'s. {@code ArithmeticOps.MUL_SCALAR.apply(x, 2f)} is {@code x.mul(2f)}.
     *
     * @throws IllegalArgumentException naming the op when it takes no scalar
     */
    public Tensor apply(Tensor x, float s) {
        if (!takesScalar) {
            throw new IllegalArgumentException(name + ": takes no scalar: apply(inputs...)");
        }
        return BuiltIn.apply(this, new Tensor[] {x}, s, true);
    }

    /** Whether it takes a scalar attribute, given to {@link #apply(Tensor, float)}. */
    public boolean takesScalar() {
        return takesScalar;
    }

    BuiltIn.Forward builtInForward() {
        return builtInForward;
    }

    BuiltIn.Gradient builtInGradient() {
        return builtInGradient;
    }

    /** The op's name. */
    public String name() {
        return name;
    }

    /** The number of inputs it takes, or -1 for any. */
    public int arity() {
        return arity;
    }

    /** The output-shape rule, or null for a composed op without one. */
    public ShapeRule shapeRule() {
        return shape;
    }

    /** The kernels as a backend sees them, or null for a composed op. */
    public OpKernels kernels() {
        return kernels;
    }

    /** The Java kernel, or null for a composed op. */
    public JavaKernel cpuKernel() {
        return kernels == null ? null : kernels.java();
    }

    /** The CUDA kernel, or null when the op has none. */
    public CudaSource cudaKernel() {
        return kernels == null ? null : kernels.cuda();
    }

    /** The composed forward, or null for a kernel op or a built-in one. */
    public Function<Tensor[], Tensor> composedForward() {
        return composed;
    }

    /**
     * The backward, or null: then a kernel op is not differentiable and a composed one is through its parts (a
     * built-in op keeps its gradient to itself: see {@link #differentiable}).
     */
    public OpBackward backward() {
        return backward;
    }

    /** Whether gradients can flow through the op. */
    public boolean differentiable() {
        return builtInForward != null ? builtInDifferentiable : backward != null || composed != null;
    }

    @Override
    public String toString() {
        if (builtInForward != null) {
            return "Op[" + name + ", built-in" + (builtInGradient != null ? ", backward" : "") + "]";
        }
        return "Op[" + name + (kernels != null ? ", kernel" + (kernels.cuda() != null ? " + cuda" : "") : ", composed")
                + (backward != null ? ", backward" : "") + "]";
    }
}
