package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.Storage;
import dev.gradus.spi.UnaryOp;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A tensor's state and lifecycle, kept apart from {@link Tensor}'s ops: its storage, layout and shape, its
 * autograd bookkeeping (whether it requires a gradient, the op that made it, the gradient), the checks ops make
 * of it, and its release. {@link Tensor} is the only kind (through {@link TensorFactories}).
 *
 * <p>Shapes: the layout's.
 *
 * <pre>{@code x.shape(); x.requiresGrad(true); x.backward(); x.close();   // all declared here}</pre>
 */
abstract sealed class TensorState implements AutoCloseable permits TensorFactories {
    final Backend backend;
    final StorageRef ref;
    final Layout layout;
    final Shape shape;
    final DType dtype;
    boolean requiresGrad;
    Node gradFn;
    Tensor grad;
    /** Set by zeroGrad: the next backward overwrites the gradient instead of adding to it (no fill pass). */
    boolean gradStale;

    /**
     * Creation order, so backward can tell the gradients it made (and may release once consumed) from tensors
     * that existed before it.
     */
    final long serial = SERIALS.incrementAndGet();

    private static final AtomicLong SERIALS = new AtomicLong();

    private volatile boolean closed;
    /** Set when no scope owns this tensor: lets the GC release it if it is dropped unclosed. */
    private NativeReclaimer.Watch watch;

    /** The serial the next tensor made will have at least. */
    static long nextSerial() {
        return SERIALS.get() + 1;
    }

    TensorState(StorageRef ref, Layout layout, DType dtype, boolean track) {
        this.backend = ref.backend;
        this.ref = ref;
        this.layout = layout;
        this.shape = Shape.of(layout.shape());
        this.dtype = dtype;
        if (!track || !Scope.track(self())) {
            watch = NativeReclaimer.watch(self(), ref);
        }
    }

    /** A new tensor sharing {@code source}'s storage, owned by the caller rather than a scope. */
    TensorState(Tensor source) {
        source.check("share");
        source.ref.retain();
        this.backend = source.backend;
        this.ref = source.ref;
        this.layout = source.layout;
        this.shape = source.shape;
        this.dtype = source.dtype;
        this.watch = NativeReclaimer.watch(self(), ref);
    }

    /** Hands this tensor, which a scope has let go of, to the safety net. */
    void unscoped() {
        if (watch == null && !closed) {
            watch = NativeReclaimer.watch(self(), ref);
        }
    }

    /** An uninitialised contiguous tensor on {@code backend}, tracked by the current scope. */
    static Tensor empty(Backend backend, Shape shape, DType dtype) {
        requireFits(backend, shape, dtype);
        long bytes = (long) shape.numel() * dtype.bytes();
        NativeReclaimer.beforeAllocate(bytes);
        Storage s;
        try {
            s = backend.allocate(dtype, shape.numel());
        } catch (OutOfMemoryError e) {
            // Memory back under pressure: release the unreachable tensors, empty the backend's cache, retry once.
            NativeReclaimer.collectNow();
            backend.trim();
            try {
                s = backend.allocate(dtype, shape.numel());
            } catch (OutOfMemoryError again) {
                throw NativeReclaimer.outOfMemory(backend, shape, dtype, bytes, again);
            }
        }
        return new Tensor(new StorageRef(backend, s), Layout.contiguous(shape.dims()), dtype, true);
    }

    /** Throws naming the shape, its bytes and the backend's limit when one storage cannot hold {@code shape}. */
    static void requireFits(Backend backend, Shape shape, DType dtype) {
        int max = backend.maxElements(dtype);
        if (shape.numel() > max) {
            throw new IllegalArgumentException(backend.name() + " backend: a " + dtype + " tensor of shape " + shape
                    + " has " + shape.numel() + " elements (" + (long) shape.numel() * dtype.bytes()
                    + " bytes), more than the " + max + " one " + backend.name() + " tensor may hold");
        }
    }

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
            backend.fill(grad.operand(), 0f);
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
        return self();
    }

    /** True once released by {@link #close()} or its scope. */
    public boolean isClosed() {
        return closed;
    }

    /** Name of the op that produced this tensor, or null for a leaf. */
    public String op() {
        return gradFn == null ? null : gradFn.op;
    }

    /**
     * Returns this tensor, or throws naming {@code op} if it was released: for custom ops that check their inputs
     * before calling kernels.
     *
     * @throws IllegalStateException if the tensor was closed or its scope ended
     */
    public Tensor requireOpen(String op) {
        check(op);
        return self();
    }

    void check(String op) {
        if (closed) {
            throw new IllegalStateException(op + ": tensor " + shape + " was used after it was released"
                    + " (its scope closed, or close() was called on it or on the module it belongs to)");
        }
    }

    /**
     * The storage and layout of this tensor's elements, for code that calls the backend directly (custom ops,
     * optimizers).
     *
     * <p>{@code backend.unary(UnaryOp.RELU, 0f, x.operand(), out.operand())}
     */
    public Operand operand() {
        check("operand");
        return new Operand(ref.storage, layout);
    }

    void checkFloat(String op) {
        check(op);
        if (dtype != DType.FLOAT32) {
            throw new IllegalArgumentException(op + ": needs a FLOAT32 tensor, got " + dtype + " " + shape);
        }
    }

    /**
     * Returns this tensor, or throws naming {@code op} if it was released or is not {@code FLOAT32}: for custom ops
     * that check their inputs.
     */
    public Tensor requireFloat(String op) {
        checkFloat(op);
        return self();
    }

    Tensor view(Layout l) {
        check("view");
        ref.retain();
        return new Tensor(ref, l, dtype, true);
    }

    /** Writes this tensor's values into {@code out} (same shape, any layout) and returns {@code out}. */
    Tensor copyInto(Tensor out) {
        backend.unary(UnaryOp.IDENTITY, 0f, operand(), out.operand());
        return out;
    }

    /** A tensor sharing this one's values with no gradient history. */
    public Tensor detach() {
        check("detach");
        return view(layout);
    }

    /** Back-propagates from a scalar, accumulating into the {@code grad} of every leaf that requires it. */
    public void backward() {
        Autograd.backward(self(), null, false);
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
        Autograd.backward(self(), seed, retainGraph);
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

    /**
     * A new handle on the same values that no scope releases; the caller closes it. For state that outlives a
     * training step (optimizer moments, running statistics).
     */
    public Tensor persist() {
        return new Tensor(self());
    }

    /** The value of a one-element tensor. */
    public float item() {
        check("item");
        if (numel() != 1) {
            throw new IllegalStateException("item: tensor has shape " + shape + ", not one element");
        }
        return dtype == DType.INT32 ? toIntArray()[0] : toFloatArray()[0];
    }

    /** All elements in row-major order, as floats. */
    public float[] toFloatArray() {
        return TensorOps.toFloatArray(self());
    }

    /** All elements in row-major order of an {@code INT32} tensor. */
    public int[] toIntArray() {
        return TensorOps.toIntArray(self());
    }

    /** This state as the tensor it is (the only subclass chain ends at {@link Tensor}). */
    private Tensor self() {
        return (Tensor) this;
    }
}
