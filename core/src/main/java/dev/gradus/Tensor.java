package dev.gradus;

import dev.gradus.ops.ActivationOps;
import dev.gradus.ops.ArithmeticOps;
import dev.gradus.ops.ComparisonOps;
import dev.gradus.ops.MathOps;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.UnaryOp;
import java.util.List;

/**
 * An n-dimensional array on a backend that records the ops applied to it so gradients can flow back.
 *
 * <p>Shapes follow NumPy/PyTorch: outermost axis first, broadcasting aligned from the right. Views
 * ({@link #reshape}, {@link #transpose}, {@link #narrow}) share storage with their base.
 *
 * <pre>{@code
 * Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).requiresGrad(true);
 * Tensor y = x.mul(x).sum();   // scalar
 * y.backward();
 * x.grad();                    // [2, 3]: 2 * x
 * }</pre>
 *
 * <p>Memory: a tensor created inside a {@link Scope} is released when the scope closes; otherwise call
 * {@link #close()}. Using a released tensor throws {@link IllegalStateException}.
 *
 * <p>Where things are: the state, lifecycle and gradient bookkeeping ({@link #shape}, {@link #backward},
 * {@link #close}) are declared in the package-private {@code TensorState}, the static factories ({@link #of},
 * {@link #zeros}) in {@code TensorFactories}; the elementwise ops here call their {@link dev.gradus.ops.Op} in
 * {@code dev.gradus.ops}, the rest call {@code TensorOps}, {@code Functional} and their neighbours.
 */
public non-sealed class Tensor extends TensorFactories implements AutoCloseable {
    Tensor(StorageRef ref, Layout layout, DType dtype, boolean track) {
        super(ref, layout, dtype, track);
    }

    /** A new tensor sharing {@code source}'s storage, owned by the caller rather than a scope. */
    protected Tensor(Tensor source) {
        super(source);
    }

    /** Zeros with this tensor's shape and backend. */
    public Tensor zerosLike() {
        return full(backend, 0f, shape.dims());
    }

    /**
     * The backend's elementwise kernel {@code op(this, scalar)} with no gradient recorded: a building block for
     * custom ops' forward and backward rules (see {@link Autograd}).
     *
     * <p>Shapes: the result has this tensor's. {@code x.applyKernel(UnaryOp.GT_SCALAR, 0f)} is the mask
     * {@code x > 0}.
     */
    public Tensor applyKernel(UnaryOp op, float scalar) {
        return applyKernel(op.name().toLowerCase(), op, scalar);
    }

    /** {@link #applyKernel(UnaryOp, float)} whose errors name the op {@code name}, as the built-in ops' do. */
    public Tensor applyKernel(String name, UnaryOp op, float scalar) {
        checkFloat(name);
        return RawKernels.unary(this, op, scalar);
    }

    /**
     * The backend's elementwise kernel {@code op(this, other)} with broadcasting and no gradient recorded.
     *
     * <p>Shapes: broadcast of both. {@code dOut.applyKernel(BinaryOp.RELU_GRAD, out)} is ReLU's backward.
     */
    public Tensor applyKernel(BinaryOp op, Tensor other) {
        String name = op.name().toLowerCase();
        checkFloat(name);
        other.checkFloat(name);
        return RawKernels.binary(name, op, this, other);
    }

    /** {@link #applyKernel(BinaryOp, Tensor)} whose errors name {@code name}; {@code other} need only be open. */
    public Tensor applyKernel(String name, BinaryOp op, Tensor other) {
        checkFloat(name);
        return RawKernels.binary(name, op, this, other);
    }

    /** {@code this + other} with broadcasting. */
    public Tensor add(Tensor other) {
        return ArithmeticOps.ADD.apply(this, other);
    }

    /** {@code this - other} with broadcasting. */
    public Tensor sub(Tensor other) {
        return ArithmeticOps.SUB.apply(this, other);
    }

    /** {@code this * other} elementwise with broadcasting. */
    public Tensor mul(Tensor other) {
        return ArithmeticOps.MUL.apply(this, other);
    }

    /** {@code this / other} elementwise with broadcasting. */
    public Tensor div(Tensor other) {
        return ArithmeticOps.DIV.apply(this, other);
    }

    /** Elementwise maximum with broadcasting; where equal, the gradient goes to {@code this}. */
    public Tensor maximum(Tensor other) {
        return ArithmeticOps.MAXIMUM.apply(this, other);
    }

    /** {@code this + s}. */
    public Tensor add(float s) {
        return ArithmeticOps.ADD_SCALAR.apply(this, s);
    }

    /** {@code this - s}. */
    public Tensor sub(float s) {
        return add(-s);
    }

    /** {@code s - this}. */
    public Tensor rsub(float s) {
        return neg().add(s);
    }

    /** {@code this * s}. */
    public Tensor mul(float s) {
        return ArithmeticOps.MUL_SCALAR.apply(this, s);
    }

    /** {@code this / s}. */
    public Tensor div(float s) {
        return mul(1f / s);
    }

    /** {@code this ^ p} elementwise. */
    public Tensor pow(float p) {
        return ArithmeticOps.POW.apply(this, p);
    }

    /** {@code -this}. */
    public Tensor neg() {
        return ArithmeticOps.NEG.apply(this);
    }

    /** {@code e ^ this}. */
    public Tensor exp() {
        return MathOps.EXP.apply(this);
    }

    /** Natural logarithm. */
    public Tensor log() {
        return MathOps.LOG.apply(this);
    }

    /** Square root. */
    public Tensor sqrt() {
        return MathOps.SQRT.apply(this);
    }

    /** Absolute value; the gradient at 0 is 0. */
    public Tensor abs() {
        return MathOps.ABS.apply(this);
    }

    /** {@code max(this, 0)}. */
    public Tensor relu() {
        return ActivationOps.RELU.apply(this);
    }

    /** {@code 1 / (1 + e^-this)}. */
    public Tensor sigmoid() {
        return ActivationOps.SIGMOID.apply(this);
    }

    /** Hyperbolic tangent. */
    public Tensor tanh() {
        return ActivationOps.TANH.apply(this);
    }

    /**
     * The error function, elementwise; gradient {@code 2/sqrt(pi) * exp(-x^2)}.
     *
     * <p>Shapes: any. {@code Tensor.of(new float[] {0, 1}, 2).erf()} is {@code [0, 0.8427]}.
     */
    public Tensor erf() {
        return MathOps.ERF.apply(this);
    }

    /**
     * The sine, elementwise (radians), as {@code torch.sin}; gradient {@code cos(x)}.
     *
     * <p>Shapes: any. {@code Tensor.of(new float[] {0, (float) Math.PI / 2}).sin()} is {@code [0, 1]}.
     */
    public Tensor sin() {
        return MathOps.SIN.apply(this);
    }

    /**
     * The cosine, elementwise (radians), as {@code torch.cos}; gradient {@code -sin(x)}.
     *
     * <p>Shapes: any. {@code Tensor.of(new float[] {0, (float) Math.PI}).cos()} is {@code [1, -1]}.
     */
    public Tensor cos() {
        return MathOps.COS.apply(this);
    }

    /**
     * Gaussian error linear unit, PyTorch's exact {@code gelu}: {@code x * Phi(x) = x/2 * (1 + erf(x/sqrt(2)))},
     * composed from {@link #erf} (the gradient follows).
     *
     * <p>Shapes: any. {@code x.gelu()}
     */
    public Tensor gelu() {
        return ActivationOps.GELU.apply(this);
    }

    /** {@code 1.0} where {@code this == other}, else {@code 0.0}; no gradient. */
    public Tensor eq(Tensor other) {
        return ComparisonOps.EQ.apply(this, other);
    }

    /** {@code 1.0} where {@code this == s}, else {@code 0.0}; no gradient. */
    public Tensor eq(float s) {
        return eq(TensorOps.scalarLike(this, s));
    }

    /** {@code 1.0} where {@code this != other} (broadcasting), else {@code 0.0}, as {@code torch.ne}; no gradient. */
    public Tensor ne(Tensor other) {
        return ComparisonOps.NE.apply(this, other);
    }

    /** {@code 1.0} where {@code this != s}, else {@code 0.0}; no gradient. */
    public Tensor ne(float s) {
        return ne(TensorOps.scalarLike(this, s));
    }

    /** {@code 1.0} where {@code this > other} (broadcasting), else {@code 0.0}, as {@code torch.gt}; no gradient. */
    public Tensor gt(Tensor other) {
        return ComparisonOps.GT.apply(this, other);
    }

    /** {@code 1.0} where {@code this > s}, else {@code 0.0}: {@code x.gt(0)} is ReLU's mask. */
    public Tensor gt(float s) {
        return gt(TensorOps.scalarLike(this, s));
    }

    /** {@code 1.0} where {@code this < other} (broadcasting), else {@code 0.0}, as {@code torch.lt}; no gradient. */
    public Tensor lt(Tensor other) {
        return ComparisonOps.LT.apply(this, other);
    }

    /** {@code 1.0} where {@code this < s}, else {@code 0.0}; no gradient. */
    public Tensor lt(float s) {
        return lt(TensorOps.scalarLike(this, s));
    }

    /** {@code 1.0} where {@code this >= other} (broadcasting), else {@code 0.0}, as {@code torch.ge}; no gradient. */
    public Tensor ge(Tensor other) {
        return ComparisonOps.GE.apply(this, other);
    }

    /** {@code 1.0} where {@code this >= s}, else {@code 0.0}; no gradient. */
    public Tensor ge(float s) {
        return ge(TensorOps.scalarLike(this, s));
    }

    /** {@code 1.0} where {@code this <= other} (broadcasting), else {@code 0.0}, as {@code torch.le}; no gradient. */
    public Tensor le(Tensor other) {
        return ComparisonOps.LE.apply(this, other);
    }

    /** {@code 1.0} where {@code this <= s}, else {@code 0.0}; no gradient. */
    public Tensor le(float s) {
        return le(TensorOps.scalarLike(this, s));
    }

    /**
     * {@code a} where {@code cond} is non-zero, else {@code b}, broadcasting all three, as {@code torch.where}; a
     * select, so a NaN in the branch not taken does not leak. Gradients flow to {@code a} and {@code b}.
     *
     * <p>{@code Tensor.where(x.gt(0), x, x.mul(0.01f))} is a leaky ReLU.
     */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        return TensorOps.where(cond, a, b);
    }

    /** Elementwise minimum with broadcasting; where equal, the gradient goes to {@code this}. */
    public Tensor minimum(Tensor other) {
        return ArithmeticOps.MINIMUM.apply(this, other);
    }

    /** Each element limited to {@code [lo, hi]} (infinities for one-sided), as {@code torch.clamp}. */
    public Tensor clamp(float lo, float hi) {
        checkFloat("clamp");
        return TensorOps.clamp(this, lo, hi);
    }

    /** A {@code FLOAT32} copy of an {@code INT32} tensor (or this tensor if already float); no gradient. */
    public Tensor toFloat() {
        check("toFloat");
        if (dtype == DType.FLOAT32) {
            return this;
        }
        return copyInto(empty(backend, shape, DType.FLOAT32));
    }

    /**
     * Matrix product with batch broadcasting, as {@code torch.matmul}; see {@link Functional#matmul}.
     *
     * <pre>{@code x.matmul(w.t())   // [32, 784] x [784, 48] -> [32, 48]}</pre>
     */
    public Tensor matmul(Tensor other) {
        return Functional.matmul(this, other);
    }

    /** Sum of all elements, a scalar. */
    public Tensor sum() {
        checkFloat("sum");
        return reshape(numel()).sum(0, false);
    }

    /** Sum along {@code axis}. */
    public Tensor sum(int axis, boolean keepDim) {
        return TensorOps.sum(this, axis, keepDim);
    }

    /** Sum over every axis of {@code axes}, as {@code torch.sum(x, dims)}. */
    public Tensor sum(int[] axes, boolean keepDim) {
        return Statistics.sum(this, axes, keepDim);
    }

    /** Variance along {@code axis}, divided by {@code n - correction} ({@code torch.var}; 1: unbiased). */
    public Tensor var(int axis, int correction, boolean keepDim) {
        return Statistics.var(this, axis, correction, keepDim);
    }

    /** Standard deviation along {@code axis}: the square root of {@link #var}. */
    public Tensor std(int axis, int correction, boolean keepDim) {
        return Statistics.std(this, axis, correction, keepDim);
    }

    /** Mean of all elements, a scalar; NaN for an empty tensor (whose sum is 0), as PyTorch. */
    public Tensor mean() {
        return sum().mul(1f / numel());
    }

    /** Mean along {@code axis}. */
    public Tensor mean(int axis, boolean keepDim) {
        return sum(axis, keepDim).mul(1f / shape.dim(axis));
    }

    /**
     * Maximum along {@code axis}; ties share the gradient. NaN propagates, as in PyTorch: a slice holding a NaN has
     * maximum NaN. An empty axis throws (a sum over one is 0).
     */
    public Tensor max(int axis, boolean keepDim) {
        return TensorOps.max(this, axis, keepDim);
    }

    /** Index of the maximum along {@code axis}, as {@code INT32}; the first wins ties, and the first NaN wins all. */
    public Tensor argmax(int axis) {
        return TensorOps.argmax(this, axis);
    }

    /**
     * The values along {@code axis} in ascending (or descending) order with their {@code INT32} indices, as
     * {@code torch.sort(x, dim, descending, stable=True)}: equal values keep their order, NaN sorts as the largest.
     * The gradient goes back to each value's place.
     *
     * <p>Shapes: both results have this tensor's. {@code Tensor.of(new float[] {3, 1, 2}).sort(0, false)} gives
     * values {@code [1, 2, 3]}, indices {@code [1, 2, 0]}.
     */
    public ValuesAndIndices sort(int axis, boolean descending) {
        return Sorting.sort(this, axis, descending);
    }

    /** {@link #sort(int, boolean)} ascending along the last axis, as {@code torch.sort(x)}. */
    public ValuesAndIndices sort() {
        return sort(-1, false);
    }

    /**
     * The {@code k} largest (or smallest) values along {@code axis} with their {@code INT32} indices, as
     * {@code torch.topk(x, k, dim, largest, sorted)}. NaN counts as the largest; among equal values the first along
     * the axis comes first. The result is in sorted order whether or not {@code sorted} is asked (PyTorch leaves
     * the order unspecified then). The gradient goes back to each value's place.
     *
     * <p>Shapes: {@code axis} becomes {@code k}. {@code logits.topk(5, 1, true, true).indices()} is {@code [N, 5]}.
     */
    public ValuesAndIndices topk(int k, int axis, boolean largest, boolean sorted) {
        return Sorting.topk(this, k, axis, largest);
    }

    /** {@link #topk(int, int, boolean, boolean)} of the {@code k} largest along the last axis, as {@code x.topk(k)}. */
    public ValuesAndIndices topk(int k) {
        return topk(k, -1, true, true);
    }

    /** Minimum along {@code axis} ({@code -max(-x)}); ties share the gradient, NaN propagates. */
    public Tensor min(int axis, boolean keepDim) {
        TensorOps.requireNonEmpty(this, axis, "min");
        return neg().max(axis, keepDim).neg();
    }

    /** Index of the minimum along {@code axis}, as {@code INT32}; the first wins ties, and the first NaN wins all. */
    public Tensor argmin(int axis) {
        TensorOps.requireNonEmpty(this, axis, "argmin");
        return neg().argmax(axis);
    }

    /**
     * Sums broadcast axes away so the result has {@code target}'s shape, the adjoint of broadcasting (PyTorch's
     * {@code sum_to_size}): what a backward rule returns for an input that was broadcast.
     *
     * <p>Shapes: {@code [2, 3].sumTo([3])} and {@code [2, 3].sumTo([1, 3])} sum axis 0.
     */
    public Tensor sumTo(Shape target) {
        return TensorOps.sumTo(this, target);
    }

    /** A tensor with the same elements in a new shape; one dimension may be -1. Shares storage when possible. */
    public Tensor reshape(int... newShape) {
        return TensorOps.reshape(this, newShape);
    }

    /** Keeps axis 0 and flattens the rest: {@code [N, C, H, W] -> [N, C*H*W]}. */
    public Tensor flatten() {
        return reshape(shape.rank() == 0 ? 1 : shape.dim(0), -1);
    }

    /** Swaps two axes (a view). */
    public Tensor transpose(int axis0, int axis1) {
        return TensorOps.transpose(this, axis0, axis1);
    }

    /** Transpose of a 2-D tensor (a view). */
    public Tensor t() {
        if (shape.rank() != 2) {
            throw new IllegalArgumentException("t: needs a 2-D tensor, got " + shape);
        }
        return transpose(0, 1);
    }

    /**
     * The axes reordered (a view), as {@code torch.permute}: axis {@code i} of the result is axis {@code order[i]}.
     *
     * <p>Shapes: {@code [N, H, W, C].permute(0, 3, 1, 2)} is {@code [N, C, H, W]}.
     */
    public Tensor permute(int... order) {
        return TensorOps.permute(this, order);
    }

    /** {@link #broadcastTo} with PyTorch's {@code expand} sizes: {@code -1} keeps an axis, {@code [3, 1].expand(3, 4)}. */
    public Tensor expand(int... sizes) {
        return TensorOps.expand(this, sizes);
    }

    /** Tiles the tensor {@code reps[i]} times along each axis (a copy), as {@code torch.Tensor.repeat}. */
    public Tensor repeat(int... reps) {
        return TensorOps.repeat(this, reps);
    }

    /** Views of {@code size} elements each along {@code axis} (the last may be shorter), as {@code torch.split}. */
    public List<Tensor> split(int size, int axis) {
        return TensorOps.split(this, size, axis);
    }

    /** At most {@code chunks} views of equal size along {@code axis} (the last may be shorter), as {@code torch.chunk}. */
    public List<Tensor> chunk(int chunks, int axis) {
        return TensorOps.chunk(this, chunks, axis);
    }

    /** Repeats size-1 axes (and new leading axes) to {@code target} without copying (stride 0). */
    public Tensor broadcastTo(Shape target) {
        return TensorOps.broadcastTo(this, target);
    }

    /** Inserts a size-1 axis at {@code axis}. */
    public Tensor unsqueeze(int axis) {
        return TensorOps.unsqueeze(this, axis);
    }

    /** Removes the size-1 axis {@code axis}. */
    public Tensor squeeze(int axis) {
        return TensorOps.squeeze(this, axis);
    }

    /** Elements {@code start .. start+length-1} along {@code axis} (a view), e.g. a slice of the batch. */
    public Tensor narrow(int axis, int start, int length) {
        return TensorOps.narrow(this, axis, start, length);
    }

    /**
     * Rows {@code start .. end-1} of axis 0: {@code x.slice(0, 32)} is the first batch of 32. Bounds outside the axis
     * throw (a short batch is a bug here); {@link #slice(int, int, int, int)} clamps them as Python does.
     */
    public Tensor slice(int start, int end) {
        return narrow(0, start, end - start);
    }

    /**
     * Every {@code step}-th element of {@code axis} from {@code start} to {@code end} (excluded), a view, as
     * {@code x[..., start:end:step]} in PyTorch: negative bounds count from the end, bounds past the ends are
     * clamped, and {@code step} must be positive. Unlike {@link #slice(int, int)}, out-of-range bounds do not throw.
     *
     * <p>Shapes: {@code [4, 10].slice(1, 1, Integer.MAX_VALUE, 3)} is {@code [4, 3]} (columns 1, 4, 7).
     */
    public Tensor slice(int axis, int start, int end, int step) {
        return Selection.slice(this, axis, start, end, step);
    }

    /** {@link #slice(int, int, int, int)} with step 1: {@code x.slice(-1, -2, Integer.MAX_VALUE)} is {@code x[..., -2:]}. */
    public Tensor slice(int axis, int start, int end) {
        return Selection.slice(this, axis, start, end, 1);
    }

    /** Index {@code index} of {@code axis}, that axis removed, as {@code torch.select}: {@code x.select(1, -1)}. */
    public Tensor select(int axis, int index) {
        return Selection.select(this, axis, index);
    }

    /** The elements in reverse order along {@code axis}, as {@code torch.flip}. */
    public Tensor flip(int axis) {
        return Selection.flip(this, axis);
    }

    /** The last two axes on and below diagonal {@code k}, the rest 0, as {@code torch.tril}. */
    public Tensor tril(int k) {
        return Selection.triangle(this, k, true);
    }

    /** The last two axes on and above diagonal {@code k}, the rest 0, as {@code torch.triu}. */
    public Tensor triu(int k) {
        return Selection.triangle(this, k, false);
    }

    /** {@code value} where {@code mask} (broadcast) is non-zero, else this, as {@code masked_fill}. */
    public Tensor maskedFill(Tensor mask, float value) {
        return Selection.maskedFill(this, mask, value);
    }

    /** Running sums along {@code axis}, as {@code torch.cumsum}. */
    public Tensor cumsum(int axis) {
        return Selection.cumsum(this, axis);
    }

    /** A copy with the same values, recorded (gradients flow back), as {@code torch.clone}; float tensors. */
    @Override
    public Tensor clone() {
        checkFloat("clone");
        return mul(1f); // x * 1 keeps -0.0 and NaN as they are, where x + 0 would turn -0.0 into 0.0
    }

    /** Copies {@code src}'s values into this tensor's elements (shapes must match); not recorded. */
    public void copyFrom(Tensor src) {
        TensorOps.copyFrom(this, src);
    }

    /**
     * The same values row-major from element 0 of their storage (a copy only if needed), not recorded: the form
     * the fused kernels ({@link Backend#conv2d}, the optimizers' steps) take, for custom ops that call them.
     *
     * <p>{@code backend.conv2d(x.dense().operand(), ...)}
     */
    public Tensor dense() {
        check("dense");
        if (layout.isDense()) {
            return this;
        }
        return copyInto(empty(backend, shape, dtype));
    }

    /** A tensor with the same values laid out row-major; {@code this} if already so. */
    public Tensor contiguous() {
        check("contiguous");
        if (layout.isContiguous()) {
            return this;
        }
        Tensor out = copyInto(empty(backend, shape, dtype));
        return Autograd.record(out, "contiguous", this, d -> d);
    }

    /**
     * Joins tensors along {@code axis}; all other dimensions must agree.
     *
     * <p>Shapes: {@code [2, 3]} and {@code [4, 3]} on axis 0 give {@code [6, 3]}.
     */
    public static Tensor cat(List<Tensor> parts, int axis) {
        return Functional.cat(parts, axis);
    }

    /** Joins equal-shaped tensors along a new axis: three {@code [2, 3]} on axis 0 give {@code [3, 2, 3]}. */
    public static Tensor stack(List<Tensor> parts, int axis) {
        return TensorOps.stack(parts, axis);
    }

    /**
     * Values picked along {@code axis} by an {@code INT32} index of the same rank, as {@code torch.gather}:
     * {@code out[i][j] = x[i][index[i][j]]} for axis 1. The gradient scatters back (adding where indices repeat).
     */
    public Tensor gather(int axis, Tensor index) {
        return TensorOps.gather(this, axis, index);
    }

    /**
     * A copy of this tensor with {@code src}'s values added at {@code index} along {@code axis}, as
     * {@code torch.scatter_add}: {@code out[i][index[i][j]] += src[i][j]} for axis 1.
     */
    public Tensor scatterAdd(int axis, Tensor index, Tensor src) {
        return TensorOps.scatterAdd(this, axis, index, src);
    }

    /** The slices at a 1-D {@code INT32} index along {@code axis}, as {@code torch.index_select}. */
    public Tensor indexSelect(int axis, Tensor index) {
        return TensorOps.indexSelect(this, axis, index);
    }

    /** The elements where {@code mask} (broadcast) is non-zero, as a 1-D tensor, as {@code torch.masked_select}. */
    public Tensor maskedSelect(Tensor mask) {
        return TensorOps.maskedSelect(this, mask);
    }

    /** One element as a float, negative indices from the end: {@code x.get(0, -1)}. */
    public float get(int... index) {
        return TensorOps.get(this, index);
    }

    /** {@code log(softmax(this))} along {@code axis}, computed stably; see {@link Functional#logSoftmax}. */
    public Tensor logSoftmax(int axis) {
        return Functional.logSoftmax(this, axis);
    }

    /** {@code softmax} along {@code axis}: {@code exp(logSoftmax(axis))}. */
    public Tensor softmax(int axis) {
        requireOpen("softmax").shape().normalizeAxis(axis, "softmax"); // errors name the op the caller called
        return logSoftmax(axis).exp();
    }

    /**
     * Mean softmax cross-entropy of logits {@code [N, C]} against labels {@code [N]} or targets {@code [N, C]};
     * see {@link Functional#crossEntropy}.
     *
     * <pre>{@code Tensor loss = model.forward(x).crossEntropy(labels);}</pre>
     */
    public Tensor crossEntropy(Tensor target) {
        return Functional.crossEntropy(this, target);
    }

    /** A copy of this tensor on {@code target} (or this tensor if it is already there); the SPI-level form. */
    public Tensor to(Backend target) {
        return TensorOps.to(this, target);
    }

    /**
     * A copy of this tensor on {@code device} (or this tensor if it is already there), as PyTorch's {@code x.to(d)}.
     *
     * <pre>{@code Tensor g = x.to(Device.of("cuda:0"));}</pre>
     */
    public Tensor to(Device device) {
        return TensorOps.to(this, Backends.of(device));
    }

    /**
     * The values as PyTorch prints them, summarised with {@code ...} above 1000 elements, then the shape, dtype and
     * gradient state: {@code tensor([1., 2.], shape=[2], dtype=float32)}. Reads the values back from the backend.
     */
    @Override
    public String toString() {
        return TensorFormat.format(this);
    }
}
