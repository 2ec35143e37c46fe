package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.Storage;
import dev.gradus.spi.UnaryOp;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
 */
public class Tensor implements AutoCloseable {
    final Backend backend;
    final StorageRef ref;
    final Layout layout;
    final Shape shape;
    final DType dtype;
    boolean requiresGrad;
    Node gradFn;
    Tensor grad;
    /** Set by zeroGrad: the next backward overwrites the gradient instead of adding to it (no fill pass). */
    private boolean gradStale;
    private volatile boolean closed;
    /** Set when no scope owns this tensor: lets the GC release it if it is dropped unclosed. */
    private NativeReclaimer.Watch watch;

    Tensor(StorageRef ref, Layout layout, DType dtype, boolean track) {
        this.backend = ref.backend;
        this.ref = ref;
        this.layout = layout;
        this.shape = Shape.of(layout.shape());
        this.dtype = dtype;
        if (!track || !Scope.track(this)) {
            watch = NativeReclaimer.watch(this, ref);
        }
    }

    /** A new tensor sharing {@code source}'s storage, owned by the caller rather than a scope. */
    protected Tensor(Tensor source) {
        source.check("share");
        source.ref.retain();
        this.backend = source.backend;
        this.ref = source.ref;
        this.layout = source.layout;
        this.shape = source.shape;
        this.dtype = source.dtype;
        this.watch = NativeReclaimer.watch(this, ref);
    }

    /** Hands this tensor, which a scope has let go of, to the safety net. */
    void unscoped() {
        if (watch == null && !closed) {
            watch = NativeReclaimer.watch(this, ref);
        }
    }

    // ---------------------------------------------------------------- creation

    /** An uninitialised contiguous tensor on {@code backend}, tracked by the current scope. */
    static Tensor empty(Backend backend, Shape shape, DType dtype) {
        NativeReclaimer.beforeAllocate((long) shape.numel() * dtype.bytes());
        Storage s = backend.allocate(dtype, shape.numel());
        return new Tensor(new StorageRef(backend, s), Layout.contiguous(shape.dims()), dtype, true);
    }

    /** A float tensor holding {@code data} in row-major order, on the default backend. */
    public static Tensor of(float[] data, int... shape) {
        return of(Backends.defaultBackend(), data, shape);
    }

    /** A float tensor holding {@code data} in row-major order. */
    public static Tensor of(Backend backend, float[] data, int... shape) {
        Shape s = Shape.of(shape);
        if (s.numel() != data.length) {
            throw new IllegalArgumentException("of: " + data.length + " values do not fill shape " + s);
        }
        Tensor t = empty(backend, s, DType.FLOAT32);
        backend.write(t.ref.storage, 0, data, 0, data.length);
        return t;
    }

    /** A scalar (rank 0) float tensor. */
    public static Tensor scalar(float value) {
        return of(new float[] {value});
    }

    /** An {@code INT32} tensor, e.g. class labels {@code Tensor.ofInts(new int[] {3, 1}, 2)}. */
    public static Tensor ofInts(int[] data, int... shape) {
        return ofInts(Backends.defaultBackend(), data, shape);
    }

    /** An {@code INT32} tensor on {@code backend}. */
    public static Tensor ofInts(Backend backend, int[] data, int... shape) {
        Shape s = Shape.of(shape);
        if (s.numel() != data.length) {
            throw new IllegalArgumentException("ofInts: " + data.length + " values do not fill shape " + s);
        }
        Tensor t = empty(backend, s, DType.INT32);
        backend.writeInts(t.ref.storage, 0, data, 0, data.length);
        return t;
    }

    /** A tensor of {@code value} everywhere. */
    public static Tensor full(Backend backend, float value, int... shape) {
        Tensor t = empty(backend, Shape.of(shape), DType.FLOAT32);
        backend.fill(t.ref.storage, t.layout, value);
        return t;
    }

    /** Zeros on the default backend. */
    public static Tensor zeros(int... shape) {
        return full(Backends.defaultBackend(), 0f, shape);
    }

    /** Ones on the default backend. */
    public static Tensor ones(int... shape) {
        return full(Backends.defaultBackend(), 1f, shape);
    }

    /** Standard-normal samples from {@code rng}, on the default backend. */
    public static Tensor randn(Rng rng, int... shape) {
        float[] d = new float[Shape.of(shape).numel()];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) rng.nextGaussian();
        }
        return of(d, shape);
    }

    /** Uniform samples in {@code [lo, hi)} from {@code rng}, on the default backend. */
    public static Tensor uniform(Rng rng, float lo, float hi, int... shape) {
        float[] d = new float[Shape.of(shape).numel()];
        for (int i = 0; i < d.length; i++) {
            d[i] = lo + (hi - lo) * rng.nextFloat();
        }
        return of(d, shape);
    }

    /** Zeros with this tensor's shape and backend. */
    public Tensor zerosLike() {
        return full(backend, 0f, shape.dims());
    }

    // ---------------------------------------------------------------- accessors

    /** The shape. */
    public Shape shape() {
        return shape;
    }

    /** The element type. */
    public DType dtype() {
        return dtype;
    }

    /** The backend holding this tensor's memory. */
    public Backend backend() {
        return backend;
    }

    /** Where this tensor's memory lives. */
    public Device device() {
        return backend.device();
    }

    /** Number of elements. */
    public int numel() {
        return shape.numel();
    }

    /** Storage layout (shape, strides, offset), for backends and diagnostics. */
    public Layout layout() {
        return layout;
    }

    /** The accumulated gradient of a leaf after {@link #backward()} (zeros after {@link #zeroGrad()}), or null. */
    public Tensor grad() {
        if (grad != null && gradStale) {
            backend.fill(grad.ref.storage, grad.layout, 0f);
            gradStale = false;
        }
        return grad;
    }

    /** True when a backward pass has written a gradient since the last {@link #zeroGrad()}. */
    public boolean hasGrad() {
        return grad != null && !gradStale;
    }

    /** Whether gradients flow to this tensor. */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf tensor as needing gradients; returns this. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null && !value) {
            throw new IllegalStateException("requiresGrad: cannot turn off on a non-leaf tensor; use detach()");
        }
        if (value && dtype != DType.FLOAT32) {
            throw new IllegalArgumentException("requiresGrad: only FLOAT32 tensors have gradients, not " + dtype);
        }
        requiresGrad = value;
        return this;
    }

    /** True once released by {@link #close()} or its scope. */
    public boolean isClosed() {
        return closed;
    }

    /** Name of the op that produced this tensor, or null for a leaf. */
    public String op() {
        return gradFn == null ? null : gradFn.op;
    }

    void check(String op) {
        if (closed) {
            throw new IllegalStateException(op + ": tensor " + shape + " was used after it was released"
                    + " (its scope closed or close() was called)");
        }
    }

    /** The backing storage, for code that calls the backend directly (optimizers, data loaders). */
    public Storage storage() {
        check("storage");
        return ref.storage;
    }

    /**
     * A new handle on the same values that no scope releases; the caller closes it. For state that outlives a
     * training step (optimizer moments, running statistics).
     */
    public Tensor persist() {
        return new Tensor(this);
    }

    /** The value of a one-element tensor. */
    public float item() {
        check("item");
        if (numel() != 1) {
            throw new IllegalStateException("item: tensor has shape " + shape + ", not one element");
        }
        if (dtype == DType.INT32) {
            int[] v = new int[1];
            backend.readInts(ref.storage, layout.offset(), v, 0, 1);
            return v[0];
        }
        float[] v = new float[1];
        backend.read(ref.storage, layout.offset(), v, 0, 1);
        return v[0];
    }

    /** All elements in row-major order, as floats. */
    public float[] toFloatArray() {
        check("toFloatArray");
        if (dtype != DType.FLOAT32) {
            int[] ints = toIntArray();
            float[] f = new float[ints.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = ints[i];
            }
            return f;
        }
        try (Scope s = Scope.open()) {
            Tensor c = contiguous();
            float[] out = new float[numel()];
            backend.read(c.ref.storage, c.layout.offset(), out, 0, out.length);
            return out;
        }
    }

    /** All elements in row-major order of an {@code INT32} tensor. */
    public int[] toIntArray() {
        check("toIntArray");
        if (dtype != DType.INT32) {
            throw new IllegalStateException("toIntArray: tensor is " + dtype + "; use toFloatArray or toInt()");
        }
        try (Scope s = Scope.open()) {
            Tensor c = contiguous();
            int[] out = new int[numel()];
            backend.readInts(c.ref.storage, c.layout.offset(), out, 0, out.length);
            return out;
        }
    }

    // ---------------------------------------------------------------- graph helpers

    private static boolean recording(Tensor... inputs) {
        if (!GradMode.isEnabled()) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad) {
                return true;
            }
        }
        return false;
    }

    /** Records {@code out = op(inputs)} on the tape if any input needs a gradient. */
    static Tensor record(Tensor out, String op, Node.Backward backward, Tensor... inputs) {
        boolean anomaly = Anomaly.isEnabled();
        if (recording(inputs)) {
            out.requiresGrad = true;
            out.gradFn = new Node(op, inputs, backward, anomaly ? Anomaly.currentLayer() : null);
        }
        if (anomaly) {
            Anomaly.checkForward(op, out, inputs);
        }
        return out;
    }

    private void checkFloat(String op) {
        check(op);
        if (dtype != DType.FLOAT32) {
            throw new IllegalArgumentException(op + ": needs a FLOAT32 tensor, got " + dtype + " " + shape);
        }
    }

    private void checkSameBackend(String op, Tensor other) {
        other.check(op);
        if (other.backend != backend) {
            throw new IllegalArgumentException(op + ": tensors on different backends (" + backend.name() + " and "
                    + other.backend.name() + "); move one with to()");
        }
    }

    // ---------------------------------------------------------------- elementwise

    private Tensor unary(UnaryOp op, float s) {
        Tensor out = empty(backend, shape, DType.FLOAT32);
        backend.unary(op, s, ref.storage, layout, out.ref.storage, out.layout);
        return out;
    }

    Tensor binaryRaw(String name, BinaryOp op, Tensor other) {
        checkSameBackend(name, other);
        Shape outShape = Shape.broadcast(name, shape, other.shape);
        Tensor out = empty(backend, outShape, DType.FLOAT32);
        backend.binary(op, ref.storage, broadcastLayout(outShape), other.ref.storage,
                other.broadcastLayout(outShape), out.ref.storage, out.layout);
        return out;
    }

    /** This tensor's layout stretched to {@code target} with stride 0 on broadcast axes. */
    Layout broadcastLayout(Shape target) {
        if (target.equals(shape)) {
            return layout;
        }
        int r = target.rank();
        int[] td = target.dims();
        int[] st = new int[r];
        int lead = r - shape.rank();
        for (int i = 0; i < r; i++) {
            if (i < lead) {
                st[i] = 0;
            } else {
                int d = layout.shape()[i - lead];
                st[i] = d == 1 && td[i] != 1 ? 0 : layout.strides()[i - lead];
            }
        }
        return new Layout(td, st, layout.offset());
    }

    /** {@code this + other} with broadcasting. */
    public Tensor add(Tensor other) {
        checkFloat("add");
        Tensor out = binaryRaw("add", BinaryOp.ADD, other);
        return record(out, "add", d -> new Tensor[] {d.sumTo(shape), d.sumTo(other.shape)}, this, other);
    }

    /** {@code this - other} with broadcasting. */
    public Tensor sub(Tensor other) {
        checkFloat("sub");
        Tensor out = binaryRaw("sub", BinaryOp.SUB, other);
        return record(out, "sub", d -> new Tensor[] {d.sumTo(shape), other.requiresGrad ? d.neg().sumTo(other.shape)
                : null}, this, other);
    }

    /** {@code this * other} elementwise with broadcasting. */
    public Tensor mul(Tensor other) {
        checkFloat("mul");
        Tensor out = binaryRaw("mul", BinaryOp.MUL, other);
        return record(out, "mul", d -> new Tensor[] {
            requiresGrad ? d.mul(other).sumTo(shape) : null,
            other.requiresGrad ? d.mul(this).sumTo(other.shape) : null}, this, other);
    }

    /** {@code this / other} elementwise with broadcasting. */
    public Tensor div(Tensor other) {
        checkFloat("div");
        Tensor out = binaryRaw("div", BinaryOp.DIV, other);
        return record(out, "div", d -> new Tensor[] {
            requiresGrad ? d.div(other).sumTo(shape) : null,
            other.requiresGrad ? d.mul(out).div(other).neg().sumTo(other.shape) : null}, this, other);
    }

    /** Elementwise maximum with broadcasting; where equal, the gradient goes to {@code this}. */
    public Tensor maximum(Tensor other) {
        checkFloat("maximum");
        Tensor out = binaryRaw("maximum", BinaryOp.MAXIMUM, other);
        return record(out, "maximum", d -> {
            Tensor mask = binaryRaw("maximum", BinaryOp.EQ, out);
            return new Tensor[] {d.mul(mask).sumTo(shape), d.mul(mask.rsub(1f)).sumTo(other.shape)};
        }, this, other);
    }

    /** {@code this + s}. */
    public Tensor add(float s) {
        checkFloat("add");
        return record(unary(UnaryOp.ADD_SCALAR, s), "addScalar", d -> new Tensor[] {d}, this);
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
        checkFloat("mul");
        return record(unary(UnaryOp.MUL_SCALAR, s), "mulScalar", d -> new Tensor[] {d.mul(s)}, this);
    }

    /** {@code this / s}. */
    public Tensor div(float s) {
        return mul(1f / s);
    }

    /** {@code this ^ p} elementwise. */
    public Tensor pow(float p) {
        checkFloat("pow");
        return record(unary(UnaryOp.POW_SCALAR, p), "pow", d -> new Tensor[] {d.mul(pow(p - 1f)).mul(p)}, this);
    }

    /** {@code -this}. */
    public Tensor neg() {
        checkFloat("neg");
        return record(unary(UnaryOp.NEG, 0f), "neg", d -> new Tensor[] {d.neg()}, this);
    }

    /** {@code e ^ this}. */
    public Tensor exp() {
        checkFloat("exp");
        Tensor out = unary(UnaryOp.EXP, 0f);
        return record(out, "exp", d -> new Tensor[] {d.mul(out)}, this);
    }

    /** Natural logarithm. */
    public Tensor log() {
        checkFloat("log");
        return record(unary(UnaryOp.LOG, 0f), "log", d -> new Tensor[] {d.div(this)}, this);
    }

    /** Square root. */
    public Tensor sqrt() {
        checkFloat("sqrt");
        Tensor out = unary(UnaryOp.SQRT, 0f);
        return record(out, "sqrt", d -> new Tensor[] {d.div(out).mul(0.5f)}, this);
    }

    /** Absolute value; the gradient at 0 is 0. */
    public Tensor abs() {
        checkFloat("abs");
        return record(unary(UnaryOp.ABS, 0f), "abs",
                d -> new Tensor[] {d.mul(unary(UnaryOp.GT_SCALAR, 0f).sub(neg().unary(UnaryOp.GT_SCALAR, 0f)))},
                this);
    }

    /** {@code max(this, 0)}. */
    public Tensor relu() {
        checkFloat("relu");
        Tensor out = unary(UnaryOp.RELU, 0f);
        return record(out, "relu", d -> new Tensor[] {d.binaryRaw("relu", BinaryOp.RELU_GRAD, out)}, this);
    }

    /** {@code 1 / (1 + e^-this)}. */
    public Tensor sigmoid() {
        checkFloat("sigmoid");
        Tensor out = unary(UnaryOp.SIGMOID, 0f);
        return record(out, "sigmoid", d -> new Tensor[] {d.binaryRaw("sigmoid", BinaryOp.SIGMOID_GRAD, out)}, this);
    }

    /** Hyperbolic tangent. */
    public Tensor tanh() {
        checkFloat("tanh");
        Tensor out = unary(UnaryOp.TANH, 0f);
        return record(out, "tanh", d -> new Tensor[] {d.binaryRaw("tanh", BinaryOp.TANH_GRAD, out)}, this);
    }

    /**
     * The error function, elementwise; gradient {@code 2/sqrt(pi) * exp(-x^2)}.
     *
     * <p>Shapes: any. {@code Tensor.of(new float[] {0, 1}, 2).erf()} is {@code [0, 0.8427]}.
     */
    public Tensor erf() {
        checkFloat("erf");
        Tensor out = unary(UnaryOp.ERF, 0f);
        return record(out, "erf", d -> new Tensor[] {d.mul(mul(this).mul(-1f).exp().mul(TWO_OVER_SQRT_PI))}, this);
    }

    private static final float TWO_OVER_SQRT_PI = (float) (2 / Math.sqrt(Math.PI));

    /**
     * Gaussian error linear unit, PyTorch's exact {@code gelu}: {@code x * Phi(x) = x/2 * (1 + erf(x/sqrt(2)))},
     * composed from {@link #erf} (the gradient follows).
     *
     * <p>Shapes: any. {@code x.gelu()}
     */
    public Tensor gelu() {
        checkFloat("gelu");
        return mul(0.5f).mul(mul((float) (1 / Math.sqrt(2))).erf().add(1f));
    }

    /** {@code 1.0} where {@code this == other}, else {@code 0.0}; no gradient. */
    public Tensor eq(Tensor other) {
        check("eq");
        Tensor a = dtype == DType.FLOAT32 ? this : toFloat();
        Tensor b = other.dtype == DType.FLOAT32 ? other : other.toFloat();
        return a.binaryRaw("eq", BinaryOp.EQ, b);
    }

    /** A {@code FLOAT32} copy of an {@code INT32} tensor (or this tensor if already float); no gradient. */
    public Tensor toFloat() {
        check("toFloat");
        if (dtype == DType.FLOAT32) {
            return this;
        }
        Tensor out = empty(backend, shape, DType.FLOAT32);
        backend.unary(UnaryOp.IDENTITY, 0f, ref.storage, layout, out.ref.storage, out.layout);
        return out;
    }

    // ---------------------------------------------------------------- matmul

    /**
     * Matrix product with batch broadcasting, as {@code torch.matmul}: {@code [..., M, K] x [..., K, N] ->
     * [..., M, N]}; a 1-D operand is treated as a row (left) or column (right) vector and its axis dropped.
     *
     * <pre>{@code x.matmul(w.t())   // [32, 784] x [784, 48] -> [32, 48]}</pre>
     */
    public Tensor matmul(Tensor other) {
        checkFloat("matmul");
        checkSameBackend("matmul", other);
        other.checkFloat("matmul");
        if (shape.rank() == 0 || other.shape.rank() == 0) {
            throw new IllegalArgumentException("matmul: scalars are not matrices: " + shape + " x " + other.shape);
        }
        if (shape.rank() == 1) {
            Tensor r = unsqueezeView(0).matmul(other);
            return r.squeeze(r.shape.rank() - 2);
        }
        if (other.shape.rank() == 1) {
            Tensor r = matmul(other.unsqueezeView(1));
            return r.squeeze(r.shape.rank() - 1);
        }
        int m = shape.dim(-2);
        int k = shape.dim(-1);
        int k2 = other.shape.dim(-2);
        int n = other.shape.dim(-1);
        if (k != k2) {
            throw new IllegalArgumentException("matmul: " + shape + " x " + other.shape + " (inner dimensions "
                    + k + " and " + k2 + " differ)");
        }
        int[] ad = shape.dims();
        int[] bd = other.shape.dims();
        Shape batch = Shape.broadcast("matmul", Shape.of(Arrays.copyOf(ad, ad.length - 2)),
                Shape.of(Arrays.copyOf(bd, bd.length - 2)));
        int[] outDims = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        outDims[batch.rank()] = m;
        outDims[batch.rank() + 1] = n;
        int[] aFull = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        aFull[batch.rank()] = m;
        aFull[batch.rank() + 1] = k;
        int[] bFull = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        bFull[batch.rank()] = k;
        bFull[batch.rank() + 1] = n;
        Tensor out = empty(backend, Shape.of(outDims), DType.FLOAT32);
        backend.matmul(ref.storage, broadcastLayout(Shape.of(aFull)), other.ref.storage,
                other.broadcastLayout(Shape.of(bFull)), out.ref.storage, out.layout);
        return record(out, "matmul", d -> new Tensor[] {
            requiresGrad ? (isColumnMajor() ? other.matmul(d.transpose(-1, -2)).transpose(-1, -2)
                    : d.matmul(other.transpose(-1, -2))).sumTo(shape) : null,
            other.requiresGrad ? (other.isColumnMajor() ? d.transpose(-1, -2).matmul(this).transpose(-1, -2)
                    : transpose(-1, -2).matmul(d)).sumTo(other.shape) : null}, this, other);
    }

    /**
     * True for a transposed matrix view ({@code w.t()}): its gradient is then computed transposed, so it lands
     * in the memory order of the tensor it views.
     */
    private boolean isColumnMajor() {
        int r = layout.rank();
        return r >= 2 && layout.strides()[r - 2] == 1 && layout.shape()[r - 1] > 1 && layout.shape()[r - 2] > 1;
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of all elements, a scalar. */
    public Tensor sum() {
        checkFloat("sum");
        return reshape(numel()).sum(0, false);
    }

    /** Sum along {@code axis}. */
    public Tensor sum(int axis, boolean keepDim) {
        checkFloat("sum");
        int a = shape.normalizeAxis(axis, "sum");
        Tensor out = reduceRaw(ReduceOp.SUM, a, keepDim, DType.FLOAT32);
        return record(out, "sum", d -> new Tensor[] {d.reshape(shape.reduce(a, true).dims()).broadcastTo(shape)
                .contiguous()}, this);
    }

    /** Mean of all elements, a scalar. */
    public Tensor mean() {
        return sum().mul(1f / numel());
    }

    /** Mean along {@code axis}. */
    public Tensor mean(int axis, boolean keepDim) {
        return sum(axis, keepDim).mul(1f / shape.dim(axis));
    }

    /** Maximum along {@code axis}; ties share the gradient. */
    public Tensor max(int axis, boolean keepDim) {
        checkFloat("max");
        int a = shape.normalizeAxis(axis, "max");
        Tensor out = reduceRaw(ReduceOp.MAX, a, keepDim, DType.FLOAT32);
        return record(out, "max", d -> {
            Shape keep = shape.reduce(a, true);
            Tensor mask = binaryRaw("max", BinaryOp.EQ, out.reshape(keep.dims()));
            return new Tensor[] {d.reshape(keep.dims()).mul(mask)};
        }, this);
    }

    /** Index of the maximum along {@code axis}, as {@code INT32}; the first wins ties. */
    public Tensor argmax(int axis) {
        checkFloat("argmax");
        return reduceRaw(ReduceOp.ARGMAX, shape.normalizeAxis(axis, "argmax"), false, DType.INT32);
    }

    private Tensor reduceRaw(ReduceOp op, int axis, boolean keepDim, DType outType) {
        if (shape.dim(axis) == 0) {
            throw new IllegalArgumentException(op.name().toLowerCase() + ": axis " + axis + " of " + shape
                    + " is empty");
        }
        Tensor x = contiguous();
        Tensor out = empty(backend, shape.reduce(axis, keepDim), outType);
        backend.reduce(op, x.ref.storage, x.layout, axis, out.ref.storage, 0);
        return out;
    }

    /** Sums broadcast axes away so the result has {@code target}'s shape (the adjoint of broadcasting). */
    Tensor sumTo(Shape target) {
        if (shape.equals(target)) {
            return this;
        }
        Tensor t = this;
        while (t.shape.rank() > target.rank()) {
            t = t.sum(0, false);
        }
        for (int i = 0; i < target.rank(); i++) {
            if (target.dim(i) == 1 && t.shape.dim(i) != 1) {
                t = t.sum(i, true);
            }
        }
        return t;
    }

    // ---------------------------------------------------------------- shape ops (views)

    private Tensor view(Layout l) {
        check("view");
        ref.retain();
        return new Tensor(ref, l, dtype, true);
    }

    /** A tensor with the same elements in a new shape; one dimension may be -1. Shares storage when possible. */
    public Tensor reshape(int... newShape) {
        check("reshape");
        int[] dims = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("reshape: more than one -1 in " + Arrays.toString(newShape));
                }
                infer = i;
            } else {
                known *= dims[i];
            }
        }
        if (infer >= 0 && known != 0) {
            dims[infer] = (int) (numel() / known);
        }
        Shape target = Shape.of(dims);
        if (target.numel() != numel()) {
            throw new IllegalArgumentException("reshape: " + shape + " (" + numel() + " elements) cannot become "
                    + Arrays.toString(newShape));
        }
        Tensor base = contiguous();
        Layout l = Layout.contiguous(dims);
        Tensor out = base.view(new Layout(l.shape(), l.strides(), base.layout.offset()));
        return record(out, "reshape", d -> new Tensor[] {d.reshape(shape.dims())}, base);
    }

    /** Keeps axis 0 and flattens the rest: {@code [N, C, H, W] -> [N, C*H*W]}. */
    public Tensor flatten() {
        return reshape(shape.rank() == 0 ? 1 : shape.dim(0), -1);
    }

    /** Swaps two axes (a view). */
    public Tensor transpose(int axis0, int axis1) {
        check("transpose");
        int a = shape.normalizeAxis(axis0, "transpose");
        int b = shape.normalizeAxis(axis1, "transpose");
        int[] sh = layout.shape().clone();
        int[] st = layout.strides().clone();
        int t = sh[a];
        sh[a] = sh[b];
        sh[b] = t;
        t = st[a];
        st[a] = st[b];
        st[b] = t;
        Tensor out = view(new Layout(sh, st, layout.offset()));
        return record(out, "transpose", d -> new Tensor[] {d.transpose(a, b)}, this);
    }

    /** Transpose of a 2-D tensor (a view). */
    public Tensor t() {
        if (shape.rank() != 2) {
            throw new IllegalArgumentException("t: needs a 2-D tensor, got " + shape);
        }
        return transpose(0, 1);
    }

    /** Repeats size-1 axes (and new leading axes) to {@code target} without copying (stride 0). */
    public Tensor broadcastTo(Shape target) {
        check("broadcastTo");
        if (!Shape.broadcast("broadcastTo", shape, target).equals(target)) {
            throw new IllegalArgumentException("broadcastTo: " + shape + " cannot expand to " + target);
        }
        if (target.equals(shape)) {
            return this;
        }
        Tensor out = view(broadcastLayout(target));
        return record(out, "broadcastTo", d -> new Tensor[] {d.sumTo(shape)}, this);
    }

    private Tensor unsqueezeView(int axis) {
        int[] d = shape.dims();
        int[] nd = new int[d.length + 1];
        for (int i = 0, j = 0; i < nd.length; i++) {
            nd[i] = i == axis ? 1 : d[j++];
        }
        return reshape(nd);
    }

    /** Inserts a size-1 axis at {@code axis}. */
    public Tensor unsqueeze(int axis) {
        int a = axis < 0 ? axis + shape.rank() + 1 : axis;
        if (a < 0 || a > shape.rank()) {
            throw new IllegalArgumentException("unsqueeze: axis " + axis + " out of range for " + shape);
        }
        return unsqueezeView(a);
    }

    /** Removes the size-1 axis {@code axis}. */
    public Tensor squeeze(int axis) {
        int a = shape.normalizeAxis(axis, "squeeze");
        if (shape.dim(a) != 1) {
            throw new IllegalArgumentException("squeeze: axis " + axis + " of " + shape + " is not 1");
        }
        return reshape(shape.reduce(a, false).dims());
    }

    /** Elements {@code start .. start+length-1} along {@code axis} (a view), e.g. a slice of the batch. */
    public Tensor narrow(int axis, int start, int length) {
        check("narrow");
        int a = shape.normalizeAxis(axis, "narrow");
        if (start < 0 || length < 0 || start + length > shape.dim(a)) {
            throw new IllegalArgumentException("narrow: [" + start + ", " + (start + length) + ") is outside axis "
                    + a + " of " + shape);
        }
        int[] sh = layout.shape().clone();
        sh[a] = length;
        Tensor out = view(new Layout(sh, layout.strides(), layout.offset() + start * layout.strides()[a]));
        return record(out, "narrow", d -> {
            Tensor g = zerosLike();
            g.narrowRaw(a, start, length).copyFrom(d);
            return new Tensor[] {g};
        }, this);
    }

    /** Rows {@code start .. end-1} of axis 0: {@code x.slice(0, 32)} is the first batch of 32. */
    public Tensor slice(int start, int end) {
        return narrow(0, start, end - start);
    }

    private Tensor narrowRaw(int axis, int start, int length) {
        int[] sh = layout.shape().clone();
        sh[axis] = length;
        return view(new Layout(sh, layout.strides(), layout.offset() + start * layout.strides()[axis]));
    }

    /** Copies {@code src}'s values into this tensor's elements (shapes must match); not recorded. */
    public void copyFrom(Tensor src) {
        check("copyFrom");
        checkSameBackend("copyFrom", src);
        if (!src.shape.equals(shape)) {
            throw new IllegalArgumentException("copyFrom: source " + src.shape + " into " + shape);
        }
        backend.unary(UnaryOp.IDENTITY, 0f, src.ref.storage, src.layout, ref.storage, layout);
    }

    /** The same values, contiguous from element 0 of their storage (a copy only if needed); not recorded. */
    Tensor denseRaw() {
        check("dense");
        if (layout.isContiguous() && layout.offset() == 0) {
            return this;
        }
        Tensor out = empty(backend, shape, dtype);
        backend.unary(UnaryOp.IDENTITY, 0f, ref.storage, layout, out.ref.storage, out.layout);
        return out;
    }

    /**
     * For subclass constructors: {@code t} itself when it starts at element 0 of its storage and is row-major, else
     * a copy that does (fused kernels such as the optimizers' steps address storages from element 0).
     */
    protected static Tensor denseFromZero(Tensor t) {
        return t.denseRaw();
    }

    /** A tensor with the same values laid out row-major; {@code this} if already so. */
    public Tensor contiguous() {
        check("contiguous");
        if (layout.isContiguous()) {
            return this;
        }
        Tensor out = empty(backend, shape, dtype);
        backend.unary(UnaryOp.IDENTITY, 0f, ref.storage, layout, out.ref.storage, out.layout);
        return record(out, "contiguous", d -> new Tensor[] {d}, this);
    }

    /** Joins tensors along {@code axis}; all other dimensions must agree. */
    public static Tensor cat(List<Tensor> parts, int axis) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("cat: no tensors");
        }
        Tensor first = parts.get(0);
        first.check("cat");
        int a = first.shape.normalizeAxis(axis, "cat");
        int[] dims = first.shape.dims();
        int total = 0;
        for (Tensor p : parts) {
            p.check("cat");
            first.checkSameBackend("cat", p);
            if (p.shape.rank() != dims.length || p.dtype != first.dtype) {
                throw new IllegalArgumentException("cat: " + first.shape + " and " + p.shape + " differ in rank or type");
            }
            for (int i = 0; i < dims.length; i++) {
                if (i != a && p.shape.dim(i) != dims[i]) {
                    throw new IllegalArgumentException("cat: " + first.shape + " and " + p.shape
                            + " differ on axis " + i);
                }
            }
            total += p.shape.dim(a);
        }
        dims[a] = total;
        Tensor out = empty(first.backend, Shape.of(dims), first.dtype);
        int[] starts = new int[parts.size()];
        int pos = 0;
        for (int i = 0; i < parts.size(); i++) {
            Tensor p = parts.get(i);
            starts[i] = pos;
            out.narrowRaw(a, pos, p.shape.dim(a)).copyFrom(p);
            pos += p.shape.dim(a);
        }
        Tensor[] inputs = parts.toArray(new Tensor[0]);
        return record(out, "cat", d -> {
            Tensor[] g = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                g[i] = inputs[i].requiresGrad ? d.narrowRaw(a, starts[i], inputs[i].shape.dim(a)).contiguous() : null;
            }
            return g;
        }, inputs);
    }

    // ---------------------------------------------------------------- softmax and losses

    /** {@code log(softmax(this))} along {@code axis}, computed stably. */
    public Tensor logSoftmax(int axis) {
        checkFloat("logSoftmax");
        int a = shape.normalizeAxis(axis, "logSoftmax");
        if (a != shape.rank() - 1) {
            return transpose(a, -1).logSoftmax(-1).transpose(a, -1);
        }
        Tensor x = contiguous();
        int cols = shape.dim(-1);
        int rows = cols == 0 ? 0 : numel() / cols;
        Tensor out = empty(backend, shape, DType.FLOAT32);
        backend.logSoftmax(x.ref.storage, x.layout.offset(), rows, cols, out.ref.storage, 0);
        return record(out, "logSoftmax",
                d -> new Tensor[] {d.sub(out.exp().mul(d.sum(-1, true)))}, x);
    }

    /** {@code softmax} along {@code axis}: {@code exp(logSoftmax(axis))}. */
    public Tensor softmax(int axis) {
        return logSoftmax(axis).exp();
    }

    /**
     * Mean softmax cross-entropy of logits {@code [N, C]} against integer labels {@code [N]} (INT32) or target
     * distributions {@code [N, C]} (one-hot or soft, FLOAT32); gradient {@code (softmax * rowsum(target) - target) / N}
     * as PyTorch's, which is {@code (softmax - target) / N} for rows summing to 1.
     *
     * <pre>{@code Tensor loss = model.forward(x).crossEntropy(labels);}</pre>
     */
    public Tensor crossEntropy(Tensor target) {
        checkFloat("crossEntropy");
        checkSameBackend("crossEntropy", target);
        if (shape.rank() != 2) {
            throw new IllegalArgumentException("crossEntropy: logits must be [N, C], got " + shape);
        }
        int n = shape.dim(0);
        int c = shape.dim(1);
        Tensor onehot;
        if (target.dtype == DType.INT32) {
            if (target.shape.rank() != 1 || target.shape.dim(0) != n) {
                throw new IllegalArgumentException("crossEntropy: logits " + shape + " need labels [" + n
                        + "], got " + target.shape);
            }
            Tensor lab = target.contiguous();
            onehot = empty(backend, shape, DType.FLOAT32);
            try {
                backend.oneHot(lab.ref.storage, lab.layout.offset(), n, c, onehot.ref.storage);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("crossEntropy: " + e.getMessage(), e);
            }
        } else {
            if (!target.shape.equals(shape)) {
                throw new IllegalArgumentException("crossEntropy: logits " + shape + " and target " + target.shape
                        + " differ");
            }
            onehot = target;
        }
        Tensor logp;
        Tensor loss;
        try (GradMode ng = GradMode.noGrad()) {
            logp = logSoftmax(1);
            loss = logp.mul(onehot).sum().mul(-1f / Math.max(1, n));
        }
        boolean labels = target.dtype == DType.INT32;
        return record(loss, "crossEntropy", d -> {
            // d/dlogits of -sum(t * logSoftmax) is softmax * rowsum(t) - t, which is softmax - t only for rows
            // summing to 1 (labels and one-hot targets).
            Tensor p = logp.exp();
            Tensor g = (labels ? p : p.mul(onehot.sum(1, true))).sub(onehot).mul(d.mul(1f / Math.max(1, n)));
            return new Tensor[] {g, null};
        }, this, target);
    }

    // ---------------------------------------------------------------- autodiff

    /** A tensor sharing this one's values with no gradient history. */
    public Tensor detach() {
        check("detach");
        ref.retain();
        return new Tensor(ref, layout, dtype, true);
    }

    /** Back-propagates from a scalar, accumulating into the {@code grad} of every leaf that requires it. */
    public void backward() {
        if (numel() != 1) {
            throw new IllegalStateException("backward: output has shape " + shape + "; a non-scalar output needs a"
                    + " seed gradient: call backward(seed) with a tensor of that shape");
        }
        try (GradMode ng = GradMode.noGrad()) {
            backward(full(backend, 1f, shape.dims()), false);
        }
    }

    /** Back-propagates {@code seed} (same shape as this) through the graph, then frees the graph. */
    public void backward(Tensor seed) {
        backward(seed, false);
    }

    /**
     * Back-propagates {@code seed}; with {@code retainGraph} the graph may be walked again.
     *
     * @throws IllegalStateException if the graph was already freed by an earlier backward
     */
    public void backward(Tensor seed, boolean retainGraph) {
        check("backward");
        if (!requiresGrad) {
            throw new IllegalStateException("backward: tensor " + shape + " does not require grad (no parameter or"
                    + " requiresGrad(true) input led to it, or it was made under GradMode.noGrad())");
        }
        if (!seed.shape.equals(shape)) {
            throw new IllegalArgumentException("backward: seed " + seed.shape + " does not match output " + shape);
        }
        List<Tensor> order = topoOrder();
        boolean anomaly = Anomaly.isEnabled();
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        grads.put(this, seed);
        try (GradMode ng = GradMode.noGrad()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = grads.remove(t);
                if (g == null) {
                    continue;
                }
                if (t.gradFn == null) {
                    t.accumulateGrad(g);
                    continue;
                }
                Node node = t.gradFn;
                if (node.freed()) {
                    throw new IllegalStateException("backward: the graph through '" + node.op + "' was already freed"
                            + " by an earlier backward(); call backward(seed, true) to keep it, or run forward again");
                }
                Tensor[] gin = anomaly ? Anomaly.quietly(() -> node.backward.apply(g)) : node.backward.apply(g);
                for (int j = 0; j < node.inputs.length; j++) {
                    Tensor in = node.inputs[j];
                    Tensor gi = gin[j];
                    if (in == null || gi == null || !in.requiresGrad) {
                        continue;
                    }
                    if (!gi.shape.equals(in.shape)) {
                        throw new IllegalStateException("backward: '" + node.op + "' gave a gradient " + gi.shape
                                + " for an input " + in.shape);
                    }
                    if (anomaly) {
                        Anomaly.checkBackward(node, j, gi, g);
                    }
                    Tensor prev = grads.get(in);
                    grads.put(in, prev == null ? gi : prev.add(gi));
                }
                if (!retainGraph) {
                    node.free();
                }
            }
        }
    }

    private List<Tensor> topoOrder() {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {this, 0});
        seen.add(this);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Tensor t = (Tensor) top[0];
            int next = (Integer) top[1];
            Tensor[] ins = t.gradFn == null ? new Tensor[0] : t.gradFn.inputs;
            if (next < ins.length) {
                top[1] = next + 1;
                Tensor in = ins[next];
                if (in != null && in.requiresGrad && seen.add(in)) {
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }

    private void accumulateGrad(Tensor g) {
        if (grad == null || gradStale) {
            if (grad == null) {
                NativeReclaimer.beforeAllocate((long) numel() * Float.BYTES);
                Storage s = backend.allocate(DType.FLOAT32, numel());
                grad = new Tensor(new StorageRef(backend, s), Layout.contiguous(shape.dims()), DType.FLOAT32, false);
            }
            gradStale = false;
            backend.unary(UnaryOp.IDENTITY, 0f, g.ref.storage, g.layout, grad.ref.storage, grad.layout);
        } else {
            backend.binary(BinaryOp.ADD, grad.ref.storage, grad.layout, g.ref.storage, g.layout, grad.ref.storage,
                    grad.layout);
        }
    }

    /**
     * Sets the accumulated gradient to zero, keeping its memory; the zeros are written lazily, so the next
     * backward simply overwrites the gradient.
     */
    public void zeroGrad() {
        if (grad != null) {
            gradStale = true;
        }
    }

    // ---------------------------------------------------------------- devices and memory

    /** A copy of this tensor on {@code target} (or this tensor if it is already there). */
    public Tensor to(Backend target) {
        check("to");
        if (target == backend) {
            return this;
        }
        if (dtype == DType.INT32) {
            return ofInts(target, toIntArray(), shape.dims());
        }
        return of(target, toFloatArray(), shape.dims());
    }

    /** Releases this tensor's memory (shared storage is freed when its last view closes); idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (watch != null) {
            NativeReclaimer.forget(watch);
            watch = null;
        }
        ref.release();
        if (grad != null) {
            grad.close();
            grad = null;
        }
        gradFn = null;
    }

    @Override
    public String toString() {
        if (closed) {
            return "Tensor" + shape + "(released)";
        }
        StringBuilder sb = new StringBuilder("Tensor").append(shape).append(' ').append(dtype);
        if (numel() <= 20) {
            sb.append(' ').append(dtype == DType.INT32 ? Arrays.toString(toIntArray())
                    : Arrays.toString(toFloatArray()));
        }
        if (requiresGrad) {
            sb.append(gradFn != null ? " grad_fn=" + gradFn.op : " requires_grad");
        }
        return sb.toString();
    }
}
