package dev.gradus.backend.cpu;

import dev.gradus.DType;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PinnableStorage;
import dev.gradus.spi.Storage;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/** Native memory from JavaCPP, seen by OpenBLAS as a pointer and by Java kernels as a direct buffer. */
final class CpuStorage extends PinnableStorage {
    /** The bytes, for oneDNN, which is told their layout ({@link #layout()}) with every call. */
    final BytePointer memory;
    // The buffers are reached only through a view that states their order: Plain (after ensurePlain) or Blocked
    // (under a read hold, with the layout): a Java kernel cannot index blocked contents by mistake.
    private final FloatPointer floats;
    private final FloatBuffer f;
    private final IntBuffer i;
    private final Plain plainView;
    /** The oneDNN layout the contents are in, or null for plain order (what every Java kernel expects). */
    private volatile DnnlLayout layout;
    /**
     * True when a oneDNN op wrote these blocked contents from inputs free of NaN and infinity; any new layout or
     * owner clears it, and Java kernels reach the contents only after {@link #ensurePlain} (which drops the layout),
     * so it is trusted only while {@link #layout} is set. Lets max pooling and the next convolution skip their
     * NaN scans (about 3 ms of a 12 ms cnn step when every op scanned).
     */
    private volatile boolean finite;
    /** The oneDNN pooling plan whose workspace these bytes are (max pooling's indices), or null. */
    private volatile DnnlPlan workspaceOf;

    private static final AtomicLong IDS = new AtomicLong();
    /** The order in which {@link #readBlocked} takes several storages' read holds (no two threads wait in a cycle). */
    private final long id = IDS.incrementAndGet();
    /**
     * Guards the blocked contents against being rewritten to plain order (in place, by {@link #ensurePlain} on
     * another thread) while a oneDNN op or a Java kernel reads them as they are: readers of blocked data hold a read
     * hold ({@link #readBlocked}), the conversion takes the write hold. Plain contents need none: they never turn
     * blocked again while anyone reads them (only the op writing a storage sets its layout).
     */
    private final ReentrantReadWriteLock layoutLock = new ReentrantReadWriteLock();
    /** How many {@link BlockedReads} the current thread has open. */
    private static final ThreadLocal<int[]> OPEN_READS = ThreadLocal.withInitial(() -> new int[1]);

    CpuStorage(DType dtype, int numel) {
        super(dtype, numel, false);
        // At least one element so every storage has a valid address.
        long bytes = Math.max(1, (long) numel) * dtype.bytes();
        this.memory = new BytePointer(bytes);
        if (memory.isNull()) {
            throw new OutOfMemoryError("cpu backend: could not allocate " + bytes + " bytes of native memory");
        }
        var bb = memory.asByteBuffer().order(ByteOrder.nativeOrder());
        this.floats = new FloatPointer(memory);
        this.f = bb.asFloatBuffer();
        this.i = bb.asIntBuffer();
        this.plainView = new Plain(this);
    }

    /**
     * A new handle on {@code old}'s native memory, for the backend to hand out again; {@code old} stays released for
     * good. Why a new handle: an op that read a tensor's storage before another thread closed it must find the
     * storage released when it pins it, not find it handed to someone else's tensor meanwhile.
     */
    CpuStorage(CpuStorage old) {
        super(old.dtype(), old.numel(), false);
        this.memory = old.memory;
        this.floats = old.floats;
        this.f = old.f;
        this.i = old.i;
        this.plainView = new Plain(this);
    }

    /** Marks a new handle as handed out (by the backend's allocate). */
    void handOut() {
        finite = false;
        claim();
    }

    /** Marks the storage as back in the backend's cache. */
    void takeBack() {
        retire();
    }

    @Override
    protected String what() {
        return "cpu backend: storage";
    }

    /** The allocator's {@code recycle} takes a released storage out of use. */
    @Override
    protected boolean leavesUseWhenFreed() {
        return false;
    }

    /** The blocked layout held, or null when plain. */
    DnnlLayout layout() {
        return layout;
    }

    /** Records that a oneDNN op wrote the contents in {@code l} (null: plain). */
    void setLayout(DnnlLayout l) {
        finite = false;
        layout = l;
        workspaceOf = null;
    }

    /** Whether the blocked contents are known to hold no NaN or infinity (see {@link #finite}). */
    boolean knownFinite() {
        return finite && layout != null;
    }

    /** Records that the op that just wrote these blocked contents read only finite inputs. */
    void markFinite() {
        finite = layout != null;
    }

    /** The pooling plan whose workspace this storage holds, or null. */
    DnnlPlan workspaceOf() {
        return workspaceOf;
    }

    void setWorkspace(DnnlPlan plan) {
        finite = false;
        layout = null;
        workspaceOf = plan;
    }

    /** Puts the contents in plain order if a oneDNN op left them blocked. */
    void ensurePlain() {
        if (workspaceOf != null) {
            // Max pooling's indices in oneDNN's own encoding cannot be turned into ours; only its backward reads them.
            throw new IllegalStateException("cpu backend: these max-pooling indices are in oneDNN's workspace format"
                    + " and can only be read by the matching pool2dBackward");
        }
        if (layout == null) {
            return;
        }
        if (OPEN_READS.get()[0] > 0) {
            // Waiting for the write hold while holding read holds could wait forever (on our own hold, or in a
            // cycle with another thread): every caller converts what it needs plain before it reads blocked data.
            throw new IllegalStateException("cpu backend: internal error: a blocked storage converted to plain while"
                    + " this thread reads blocked storages");
        }
        layoutLock.writeLock().lock();
        try {
            DnnlLayout l = layout;
            if (l != null) {
                l.toPlain(memory);
                layout = null;
            }
        } finally {
            layoutLock.writeLock().unlock();
        }
    }

    /**
     * Read holds on those of {@code storages} (nulls allowed) that are blocked now, so that no other thread rewrites
     * them to plain until {@link BlockedReads#close}; the caller then reads {@link #layout()} again under the holds
     * and may read blocked contents as they are. Holds are taken in one fixed order; a thread that already has reads
     * open may only take again storages it already holds (so no two threads wait on each other in a cycle), and may
     * not convert any storage to plain until it closes them.
     */
    static BlockedReads readBlocked(CpuStorage... storages) {
        return readBlocked(storages, storages.length);
    }

    /** {@link #readBlocked(CpuStorage...)} of the first {@code count} of {@code storages} (an op's inputs). */
    static BlockedReads readBlocked(CpuStorage[] storages, int count) {
        int blocked = 0;
        for (int j = 0; j < count; j++) {
            if (storages[j] != null && storages[j].layout != null) {
                blocked++;
            }
        }
        if (blocked == 0) {
            return BlockedReads.NONE;
        }
        CpuStorage[] held = new CpuStorage[blocked];
        int k = 0;
        for (int j = 0; j < count; j++) {
            if (storages[j] != null && storages[j].layout != null) {
                held[k++] = storages[j];
            }
        }
        Arrays.sort(held, Comparator.comparingLong(s -> s.id));
        int[] open = OPEN_READS.get();
        if (open[0] > 0) {
            for (CpuStorage s : held) {
                if (s.layoutLock.getReadHoldCount() == 0) {
                    throw new IllegalStateException("cpu backend: internal error: a nested read of a blocked"
                            + " storage this thread does not hold yet");
                }
            }
        }
        int taken = 0;
        try {
            for (CpuStorage s : held) {
                s.layoutLock.readLock().lock();
                taken++;
            }
        } finally {
            if (taken < held.length) {
                for (int j = 0; j < taken; j++) {
                    held[j].layoutLock.readLock().unlock();
                }
            }
        }
        open[0]++;
        return new BlockedReads(held, open);
    }

    /** Read holds taken by {@link #readBlocked}; {@link #close} releases them (once; later calls do nothing). */
    static final class BlockedReads implements AutoCloseable {
        /**
         * The contents of {@code s} as they are, for a Java kernel that works on its blocked layout (or on every
         * element alike); only while this holds {@code s} and {@code s} is blocked.
         */
        Blocked view(CpuStorage s) {
            DnnlLayout l = s.layout;
            if (closed
                    || l == null
                    || s.layoutLock.getReadHoldCount() == 0
                    || !Arrays.asList(held).contains(s)) {
                throw new IllegalStateException("cpu backend: internal error: blocked contents read without a hold");
            }
            return new Blocked(s.f, l);
        }

        static final BlockedReads NONE = new BlockedReads(new CpuStorage[0], null);

        private final CpuStorage[] held;
        private final int[] open;
        private boolean closed;

        private BlockedReads(CpuStorage[] held, int[] open) {
            this.held = held;
            this.open = open;
            this.closed = open == null;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            for (CpuStorage s : held) {
                s.layoutLock.readLock().unlock();
            }
            open[0]--;
        }
    }

    // ------------------------------------------------------------------ the views a kernel may take

    /**
     * A storage's contents in plain row-major order, the order every Java kernel, BLAS call, read and write indexes
     * by position; made by {@link CpuStorage#plain(Storage)}, which reorders blocked contents first.
     */
    static final class Plain {
        final CpuStorage storage;
        final FloatBuffer f;
        final IntBuffer i;
        final FloatPointer floats;

        private Plain(CpuStorage s) {
            this.storage = s;
            this.f = s.f;
            this.i = s.i;
            this.floats = s.floats;
        }

        DType dtype() {
            return storage.dtype();
        }

        int numel() {
            return storage.numel();
        }
    }

    /**
     * Contents in a blocked oneDNN layout, read as they are by a Java kernel that knows the layout ({@code nChw<B>c})
     * or treats every element alike; made by {@link BlockedReads#view} under a read hold.
     */
    record Blocked(FloatBuffer f, DnnlLayout layout) {}

    /**
     * {@code s} with its contents in plain row-major order, reordered now if a oneDNN op left them blocked: the
     * view every Java kernel, BLAS call, read and write takes before it touches the buffers. When in doubt, this
     * one: it is always correct, at worst one reorder slower.
     */
    static Plain plain(Storage s) {
        CpuStorage c = asStored(s);
        c.ensurePlain();
        return c.plainView;
    }

    /** {@link #plain(Storage)} of an operand's storage. */
    static Plain plain(Operand o) {
        return plain(o.storage());
    }

    /** {@link #plain(Storage)} of an operand's storage, or null for an absent optional operand. */
    static Plain plainOrNull(Operand o) {
        return o == null ? null : plain(o.storage());
    }

    /** The storage a plain view is of, or null for null: what a oneDNN op takes for an operand known plain. */
    static CpuStorage stored(Plain p) {
        return p == null ? null : p.storage;
    }

    /**
     * The buffer of an op's output that the op writes whole, in the order the op gives it ({@link #setLayout} after):
     * the held input's own view when writing in place, else the buffer, its old contents (in any layout) dropped
     * without a conversion.
     */
    FloatBuffer overwrittenWhole(BlockedReads held) {
        if (layout != null && layoutLock.getReadHoldCount() > 0) {
            return held.view(this).f();
        }
        setLayout(null);
        return f;
    }

    /**
     * The whole buffer's bits whatever the order, for scans that treat every element alike (a NaN search); blocked
     * contents only under a read hold ({@link #readBlocked}).
     */
    IntBuffer bitsHeld(BlockedReads held) {
        if (layout != null) {
            held.view(this);
        }
        return i;
    }

    /**
     * {@code s} as stored: its contents may be in a blocked oneDNN layout ({@link #layout()} says which). For a
     * oneDNN op, which reads the layout and reorders as needed, and for code that looks at the layout, the dtype or
     * the pins; its buffers are reached only through {@link #plain(Storage)} or, under a read hold,
     * {@link BlockedReads#view}.
     */
    static CpuStorage asStored(Storage s) {
        if (s instanceof CpuStorage c) {
            if (!c.inUse()) {
                throw new IllegalStateException("cpu backend: storage used after it was freed");
            }
            return c;
        }
        throw new IllegalArgumentException("cpu backend: storage " + s + " belongs to another backend");
    }

    /** {@link #asStored(Storage)} of an operand's storage, or null for an absent optional operand. */
    static CpuStorage asStored(Operand o) {
        return o == null ? null : asStored(o.storage());
    }

    void deallocate() {
        memory.deallocate();
    }
}
