package dev.gradus.backend.cuda;

import dev.gradus.DType;
import dev.gradus.Device;
import dev.gradus.spi.AdamStep;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.BatchNormDims;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.CudaSource;
import dev.gradus.spi.IndexOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.MemoryStats;
import dev.gradus.spi.OpKernels;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.SgdStep;
import dev.gradus.spi.Storage;
import dev.gradus.spi.StoragePins;
import dev.gradus.spi.UnaryOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The CUDA backend: tensors in device memory from a {@link CachingAllocator}, cuBLAS for GEMM, Gradus' own NVRTC
 * kernels for elementwise ops, reductions, log-softmax and optimizer steps, all queued on one stream; the host
 * waits only where a value comes back ({@link #read}, {@link #readInts}, {@link #synchronize}), when it is four
 * uploads ahead of the device, and when {@link #oneHot} is given labels a kernel made (it reads them back to name a
 * bad one; labels the host wrote are checked against the host's copy).
 *
 * <p>Convolution goes through cuDNN; pooling and batch norm are Gradus kernels (the SPI's max pooling keeps an
 * arg-max, which cuDNN's does not).
 *
 * <p>Many threads may use one backend at once (a server's threads sharing a model, trainings side by side). Every
 * thread queues on the same stream, so the device runs the work in the order it was queued and a block freed by one
 * thread is reused by another only behind the freeing thread's work; each thread is bound to the device before its
 * first call ({@code bind}); cuBLAS and cuDNN handles come from pools, one call per handle at a time, each bound to
 * the stream when made; an op pins its storages ({@code StoragePins}), so a tensor another thread closes meanwhile goes
 * back to the allocator only once the op's work is queued.
 *
 * <p>Not yet run on a GPU (the conformance suite passes on the tests' CUDA emulator): the provider offers it only
 * with {@code -Dgradus.cuda.experimental=true} until the suite has passed on one.
 */
public final class CudaBackend implements Backend {
    private static final int THREADS = 256;
    private static final int MAX_BLOCKS = 4096;

    /**
     * The device this class last made current on each thread (-1: none). CUDA's current device, and with it the
     * driver's current context that {@code cuLaunchKernel} needs, is per thread: a thread that never called the
     * runtime has no context (the launch fails with CUDA_ERROR_INVALID_CONTEXT) and one that did is on device 0.
     */
    private static final ThreadLocal<int[]> BOUND = ThreadLocal.withInitial(() -> new int[] {-1});

    private final int device;
    private final boolean tf32;
    private final CUstream_st stream = new CUstream_st();
    /**
     * Idle cuBLAS handles, each bound to {@link #stream} and its math mode set when made: a call takes one and puts
     * it back, so no two threads use a handle at once and no handle's state changes after it is shared. A pool
     * rather than one per thread: a handle holds device workspace, and a server's threads come and go.
     */
    private final ConcurrentLinkedQueue<cublasContext> blasHandles = new ConcurrentLinkedQueue<>();

    private final CachingAllocator allocator;
    private final CudaModule kernels;
    private final CudaOpKernels opKernels;
    private final CudnnConv conv;
    private final String arch;
    /** cuBLAS reads alpha and beta from host memory: allocated once, not per call, and only read (shared). */
    private final FloatPointer one = new FloatPointer(1).put(1f);

    private final FloatPointer zero = new FloatPointer(1).put(0f);

    CudaBackend(int device, boolean tf32) {
        this.device = device;
        this.tf32 = tf32;
        bind();
        int[] major = {0};
        int[] minor = {0};
        Cuda.check(
                cudart.cudaDeviceGetAttribute(major, cudart.cudaDevAttrComputeCapabilityMajor, device),
                "compute capability");
        Cuda.check(
                cudart.cudaDeviceGetAttribute(minor, cudart.cudaDevAttrComputeCapabilityMinor, device),
                "compute capability");
        this.arch = "sm_" + major[0] + minor[0];
        Cuda.check(cudart.cudaStreamCreate(stream), "cudaStreamCreate");
        blasHandles.add(newBlasHandle()); // fail at start, not at the first product, when cuBLAS does not load
        this.allocator = new CachingAllocator(new CachingAllocator.DeviceMemory() {
            @Override
            public long malloc(long bytes) {
                try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
                    int err = cudart.cudaMalloc(out, bytes);
                    if (err == cudart.cudaErrorMemoryAllocation) {
                        cudart.cudaGetLastError(); // clear the sticky-free error state
                        return 0;
                    }
                    Cuda.check(err, "cudaMalloc(" + bytes + ")");
                    return out.get(0).address();
                }
            }

            @Override
            public void free(long pointer) {
                // Work queued on the stream may still use the block: wait before handing it to the driver.
                synchronize();
                Cuda.check(cudart.cudaFree(Cuda.pointer(pointer)), "cudaFree");
            }
        });
        this.kernels = new CudaModule(major[0], minor[0]);
        this.opKernels = new CudaOpKernels(kernels.target());
        this.conv = new CudnnConv(stream, allocator, tf32);
    }

    /**
     * Makes this backend's device current on the calling thread, once per thread (see {@link #BOUND}). Every entry
     * point that reaches CUDA calls it first, so a thread the application hands a model to needs no setup.
     */
    private void bind() {
        int[] bound = BOUND.get();
        if (bound[0] != device) {
            // Since CUDA 12 this also makes the device's primary context current on the thread, for the driver API.
            Cuda.check(cudart.cudaSetDevice(device), "cudaSetDevice(" + device + ")");
            bound[0] = device;
        }
    }

    private cublasContext newBlasHandle() {
        cublasContext h = new cublasContext();
        Cuda.checkBlas(cublas.cublasCreate_v2(h), "cublasCreate");
        Cuda.checkBlas(cublas.cublasSetStream_v2(h, stream), "cublasSetStream");
        Cuda.checkBlas(
                cublas.cublasSetMathMode(h, tf32 ? cublas.CUBLAS_TF32_TENSOR_OP_MATH : cublas.CUBLAS_DEFAULT_MATH),
                "cublasSetMathMode");
        return h;
    }

    /** An idle cuBLAS handle, or a new one when every handle is in use; give it back with {@code offer}. */
    private cublasContext takeBlasHandle() {
        cublasContext h = blasHandles.poll();
        return h != null ? h : newBlasHandle();
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Device device() {
        return new Device("cuda", device);
    }

    // ------------------------------------------------------------------ memory

    @Override
    public Storage allocate(DType dtype, int numel) {
        bind(); // the allocator may call cudaMalloc, which allocates on the calling thread's current device
        long bytes = Math.max(1L, (long) numel * dtype.bytes());
        return new CudaStorage(dtype, numel, allocator.allocate(bytes));
    }

    @Override
    public void free(Storage storage) {
        CudaStorage s = cuda(storage); // throws for a storage already freed
        if (s.release()) {
            // Stream-ordered: all threads queue on one stream, so later work on it, from any thread, may reuse it.
            allocator.release(s.address);
        } // else an op on another thread holds it: its pins give the block back when that op's work is queued
    }

    @Override
    public MemoryStats memory() {
        return new MemoryStats(allocator.liveBytes(), allocator.reservedBytes(), allocator.mallocs());
    }

    @Override
    public void trim() {
        bind();
        allocator.trim();
    }

    @Override
    public void synchronize() {
        bind();
        hostWaits.incrementAndGet();
        Cuda.check(cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }

    /** How often the host has waited for the stream: tests check that a training step does not. */
    private final AtomicLong hostWaits = new AtomicLong();

    long hostWaits() {
        return hostWaits.get();
    }

    /** cuBLAS handles made so far, idle now: tests check that concurrent calls got handles of their own. */
    int idleBlasHandles() {
        return blasHandles.size();
    }

    /** As {@link #idleBlasHandles} for cuDNN. */
    int idleCudnnHandles() {
        return conv.idleHandles();
    }

    private static CudaStorage cuda(Storage s) {
        if (s instanceof CudaStorage c) {
            if (!c.inUse()) {
                throw new IllegalStateException(
                        "cuda backend: storage of " + c.numel() + " " + c.dtype() + " used after it was freed");
            }
            return c;
        }
        throw new IllegalArgumentException("cuda backend: storage from another backend ("
                + (s == null ? "null" : s.getClass().getName()) + ")");
    }

    /** {@link #cuda} for a storage a kernel is about to write: what the host knew of its contents is stale. */
    private static CudaStorage written(Storage s) {
        CudaStorage c = cuda(s);
        c.hostInts = null;
        return c;
    }

    /**
     * The storages of one op, held until its work is queued ({@link StoragePins}), after binding the thread to the
     * device: a tensor another thread closes meanwhile goes back to the allocator only when the op is done with it,
     * and then behind the op's work on the stream.
     */
    private StoragePins<CudaStorage> pin(Operand... ops) {
        bind();
        return StoragePins.of(CudaBackend::cuda, s -> allocator.release(s.address), ops);
    }

    private StoragePins<CudaStorage> pin(Storage... storages) {
        bind();
        return StoragePins.of(CudaBackend::cuda, s -> allocator.release(s.address), storages);
    }

    private static void checkRange(CudaStorage s, int offset, int length, String op) {
        if (offset < 0 || length < 0 || (long) offset + length > s.numel()) {
            throw new IndexOutOfBoundsException("cuda " + op + ": elements [" + offset + ", " + ((long) offset + length)
                    + ") of a storage of " + s.numel());
        }
    }

    /**
     * A pinned (page-locked) host buffer reads land in, with an event recorded after the copy into it: copies to
     * pinned memory run at full bus speed, and reused buffers spare a host allocation per read.
     */
    private static final class Staging {
        final CUevent_st copied = new CUevent_st();
        BytePointer host;

        Staging() {
            Cuda.check(cudart.cudaEventCreateWithFlags(copied, cudart.cudaEventDisableTiming), "cudaEventCreate");
        }
    }

    /**
     * Idle staging buffers: a read takes one (or makes one) and puts it back, so threads read at once, each waiting
     * on its own copy's event rather than for the whole stream, which other threads keep filling.
     */
    private final ConcurrentLinkedQueue<Staging> stagings = new ConcurrentLinkedQueue<>();

    private static BytePointer pinned(long bytes) {
        long size = Math.max(bytes, 1 << 20);
        try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
            Cuda.check(cudart.cudaMallocHost(out, size), "cudaMallocHost(" + size + ")");
            return new BytePointer(out.get(0)).capacity(size).limit(size);
        }
    }

    /**
     * Writes go through a ring of pinned buffers, each with an event recorded after its copy: a write returns as
     * soon as its copy is queued, and waits only when it comes round to a buffer whose copy the device has not yet
     * done (the host is then {@code UPLOAD_SLOTS} batches ahead). So uploading the next batch overlaps the step
     * still running. The ring is shared by all threads under its lock (a write holds it only to fill a buffer and
     * queue the copy, or while the device finishes that slot's previous copy).
     */
    private static final int UPLOAD_SLOTS = 4;

    private final BytePointer[] uploadBuffers = new BytePointer[UPLOAD_SLOTS];
    private final CUevent_st[] uploadDone = new CUevent_st[UPLOAD_SLOTS];
    private final boolean[] uploadPending = new boolean[UPLOAD_SLOTS];
    private int nextUpload;

    private void toDevice(CudaStorage d, int offset, long bytes, Consumer<BytePointer> fill) {
        synchronized (uploadDone) {
            int slot = nextUpload;
            nextUpload = (nextUpload + 1) % UPLOAD_SLOTS;
            if (uploadDone[slot] == null) {
                uploadDone[slot] = new CUevent_st();
                Cuda.check(
                        cudart.cudaEventCreateWithFlags(uploadDone[slot], cudart.cudaEventDisableTiming),
                        "cudaEventCreateWithFlags");
            }
            if (uploadPending[slot]) {
                int state = cudart.cudaEventQuery(uploadDone[slot]);
                if (state == cudart.cudaErrorNotReady) {
                    hostWaits.incrementAndGet();
                    state = cudart.cudaEventSynchronize(uploadDone[slot]);
                }
                Cuda.check(state, "waiting for the upload buffer's last copy");
                uploadPending[slot] = false;
            }
            BytePointer host = uploadBuffers[slot];
            if (host == null || host.capacity() < bytes) {
                if (host != null) {
                    Cuda.check(cudart.cudaFreeHost(host), "cudaFreeHost");
                }
                host = pinned(bytes);
                uploadBuffers[slot] = host;
            }
            fill.accept(host);
            Cuda.check(
                    cudart.cudaMemcpyAsync(
                            Cuda.pointer(d.at(offset)), host, bytes, cudart.cudaMemcpyHostToDevice, stream),
                    "cudaMemcpy host -> device");
            Cuda.check(cudart.cudaEventRecord(uploadDone[slot], stream), "cudaEventRecord (upload buffer)");
            uploadPending[slot] = true;
        }
    }

    private void toHost(CudaStorage s, int offset, long bytes, Consumer<BytePointer> drain) {
        Staging st = stagings.poll();
        if (st == null) {
            st = new Staging();
        }
        try {
            if (st.host == null || st.host.capacity() < bytes) {
                if (st.host != null) {
                    Cuda.check(cudart.cudaFreeHost(st.host), "cudaFreeHost");
                    st.host = null;
                }
                st.host = pinned(bytes);
            }
            Cuda.check(
                    cudart.cudaMemcpyAsync(
                            st.host, Cuda.pointer(s.at(offset)), bytes, cudart.cudaMemcpyDeviceToHost, stream),
                    "cudaMemcpy device -> host");
            Cuda.check(cudart.cudaEventRecord(st.copied, stream), "cudaEventRecord (read)");
            // On the one stream the event completes once everything queued before the copy, by any thread, has run.
            hostWaits.incrementAndGet();
            Cuda.check(cudart.cudaEventSynchronize(st.copied), "waiting for the copy device -> host");
            drain.accept(st.host);
        } finally {
            stagings.offer(st);
        }
    }

    @Override
    public void write(Storage dst, int offset, float[] src, int srcOffset, int length) {
        try (var pins = pin(dst)) {
            CudaStorage d = cuda(dst);
            checkRange(d, offset, length, "write");
            toDevice(d, offset, 4L * length, host -> new FloatPointer(host).put(src, srcOffset, length));
        }
    }

    @Override
    public void read(Storage src, int offset, float[] dst, int dstOffset, int length) {
        try (var pins = pin(src)) {
            CudaStorage s = cuda(src);
            checkRange(s, offset, length, "read");
            toHost(s, offset, 4L * length, host -> new FloatPointer(host).get(dst, dstOffset, length));
        }
    }

    @Override
    public void writeInts(Storage dst, int offset, int[] src, int srcOffset, int length) {
        try (var pins = pin(dst)) {
            CudaStorage d = cuda(dst);
            checkRange(d, offset, length, "writeInts");
            toDevice(d, offset, 4L * length, host -> new IntPointer(host).put(src, srcOffset, length));
            if (d.dtype() == DType.INT32) {
                int[] known = d.hostInts;
                if (known != null) {
                    // A new array, not an update in place: another thread's oneHot may be checking the old one.
                    int[] next = known.clone();
                    System.arraycopy(src, srcOffset, next, offset, length);
                    d.hostInts = next;
                } else if (offset == 0 && length == d.numel()) {
                    d.hostInts = Arrays.copyOfRange(src, srcOffset, srcOffset + length);
                }
            }
        }
    }

    @Override
    public void readInts(Storage src, int offset, int[] dst, int dstOffset, int length) {
        try (var pins = pin(src)) {
            CudaStorage s = cuda(src);
            checkRange(s, offset, length, "readInts");
            toHost(s, offset, 4L * length, host -> new IntPointer(host).get(dst, dstOffset, length));
        }
    }

    // ------------------------------------------------------------------ kernel launches

    /** A 64-bit kernel argument: a device address or a {@code long long}. */
    private record L(long v) {}

    /**
     * Per-thread memory for kernel arguments, reused by every launch: a step launches many kernels and should not
     * allocate host memory for each. Each argument gets an 8-byte-aligned slot; {@code params} holds their addresses.
     */
    private static final class Args {
        static final int BYTES = 4096;
        static final int MAX = 32;
        final BytePointer memory = new BytePointer(BYTES);
        final ByteBuffer buffer = memory.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        final PointerPointer<Pointer> params = new PointerPointer<>(MAX);
        final LongPointer addresses = new LongPointer(params);
    }

    private static final ThreadLocal<Args> ARGS = ThreadLocal.withInitial(Args::new);

    /** Launches {@code kernel}; arguments are {@link L}, {@code Integer}, {@code Float} or a {@link Layout} struct. */
    private void launch(String kernel, int blocks, int threads, int sharedBytes, Object... args) {
        launch(kernels.function(kernel), kernel, blocks, threads, sharedBytes, args);
    }

    /** As {@link #launch(String, int, int, int, Object...)} for a function of any module ({@code kernel} names it). */
    private void launch(CUfunc_st function, String kernel, int blocks, int threads, int sharedBytes, Object... args) {
        Args a = ARGS.get();
        if (args.length > Args.MAX) {
            throw new IllegalArgumentException("cuda: " + kernel + " has more than " + Args.MAX + " arguments");
        }
        int at = 0;
        for (int i = 0; i < args.length; i++) {
            Object v = args[i];
            if (v instanceof L l) {
                a.buffer.putLong(at, l.v());
            } else if (v instanceof Integer x) {
                a.buffer.putInt(at, x);
            } else if (v instanceof Float x) {
                a.buffer.putFloat(at, x);
            } else if (v instanceof Layout l) {
                KernelLayout.packInto(l, a.buffer, at);
            } else {
                throw new IllegalArgumentException("cuda: kernel argument " + i + " of " + kernel + ": " + v);
            }
            a.addresses.put(i, a.memory.address() + at);
            at += v instanceof Layout ? KernelLayout.BYTES : 8;
        }
        Cuda.check(
                cudart.cuLaunchKernel(
                        function,
                        Math.max(1, blocks),
                        1,
                        1,
                        threads,
                        1,
                        1,
                        sharedBytes,
                        stream,
                        a.params,
                        (PointerPointer<?>) null),
                "launch " + kernel);
    }

    /** Launches {@code kernel} as a grid-stride loop over {@code n} elements. */
    private void launchOver(String kernel, long n, Object... args) {
        launch(kernel, blocksFor(n), THREADS, 0, args);
    }

    /** Blocks for a grid-stride loop over {@code n} elements. */
    private static int blocksFor(long n) {
        return (int) Math.max(1, Math.min(MAX_BLOCKS, (n + THREADS - 1) / THREADS));
    }

    private static boolean dense(Layout l) {
        return l.isContiguous();
    }

    @Override
    public void fill(Operand dst, float value) {
        try (var pins = pin(dst)) {
            Layout layout = dst.layout();
            CudaStorage d = written(dst.storage());
            long n = layout.numel();
            if (n == 0) {
                return;
            }
            if (d.dtype() == DType.INT32) {
                launchOver("gradus_fill_int", n, new L(d.address), layout, new L(n), (int) value);
            } else {
                launchOver("gradus_fill", n, new L(d.address), layout, new L(n), value);
            }
        }
    }

    @Override
    public void unary(UnaryOp op, float scalar, Operand x, Operand out) {
        try (var pins = pin(x, out)) {
            Layout xLayout = x.layout();
            Layout outLayout = out.layout();
            CudaStorage xs = cuda(x.storage());
            CudaStorage os = written(out.storage());
            long n = outLayout.numel();
            if (n == 0) {
                return;
            }
            if (xs.dtype() == DType.INT32 || os.dtype() == DType.INT32) {
                if (op != UnaryOp.IDENTITY) {
                    throw new IllegalArgumentException("cuda backend: " + op + " on INT32 storage");
                }
                int mode = xs.dtype() == DType.INT32 ? (os.dtype() == DType.INT32 ? 2 : 0) : 1;
                launchOver(
                        "gradus_convert", n, mode, new L(xs.address), xLayout, new L(os.address), outLayout, new L(n));
                return;
            }
            if (dense(xLayout) && dense(outLayout)) {
                launchOver(
                        "gradus_unary_dense",
                        n,
                        op.ordinal(),
                        scalar,
                        new L(xs.at(xLayout.offset())),
                        new L(os.at(outLayout.offset())),
                        new L(n));
            } else {
                launchOver(
                        "gradus_unary",
                        n,
                        op.ordinal(),
                        scalar,
                        new L(xs.address),
                        xLayout,
                        new L(os.address),
                        outLayout,
                        new L(n));
            }
        }
    }

    @Override
    public void binary(BinaryOp op, Operand a, Operand b, Operand out) {
        try (var pins = pin(a, b, out)) {
            Layout aLayout = a.layout();
            Layout bLayout = b.layout();
            Layout outLayout = out.layout();
            CudaStorage as = cuda(a.storage());
            CudaStorage bs = cuda(b.storage());
            CudaStorage os = cuda(out.storage());
            long n = outLayout.numel();
            if (n == 0) {
                return;
            }
            if (as.dtype() != DType.FLOAT32 || bs.dtype() != DType.FLOAT32 || os.dtype() != DType.FLOAT32) {
                throw new IllegalArgumentException("cuda backend: " + op + " needs FLOAT32 storages");
            }
            if (dense(aLayout) && dense(bLayout) && dense(outLayout)) {
                launchOver(
                        "gradus_binary_dense",
                        n,
                        op.ordinal(),
                        new L(as.at(aLayout.offset())),
                        new L(bs.at(bLayout.offset())),
                        new L(os.at(outLayout.offset())),
                        new L(n));
            } else {
                launchOver(
                        "gradus_binary",
                        n,
                        op.ordinal(),
                        new L(as.address),
                        aLayout,
                        new L(bs.address),
                        bLayout,
                        new L(os.address),
                        outLayout,
                        new L(n));
            }
        }
    }

    /**
     * An op's own kernel: its CUDA source (compiled once, launched one thread per output element as
     * {@link CudaSource} states) or, when it has none, its Java kernel on host copies, said once in the log.
     */
    @Override
    public void runKernel(OpKernels k, Operand[] inputs, Operand out) {
        k.check(inputs, out);
        if (k.cuda() == null) {
            opKernels.noteHostRun(k.name());
            Backend.super.runKernel(k, inputs, out);
            return;
        }
        if (2 + 2 * inputs.length > Args.MAX) {
            throw new IllegalArgumentException(
                    k.name() + ": a CUDA kernel takes at most " + (Args.MAX - 2) / 2 + " inputs, got " + inputs.length);
        }
        Operand[] all = Arrays.copyOf(inputs, inputs.length + 1);
        all[inputs.length] = out;
        try (var pins = pin(all)) {
            CUfunc_st f = opKernels.function(k, inputs.length);
            long n = out.numel();
            if (n == 0) {
                return;
            }
            Object[] args = new Object[2 + 2 * inputs.length];
            args[0] = new L(written(out.storage()).at(0));
            args[1] = new L(n);
            for (int j = 0; j < inputs.length; j++) {
                Operand in = inputs[j];
                args[2 + 2 * j] = new L(cuda(in.storage()).at(in.layout().offset()));
                args[3 + 2 * j] = new L(in.numel());
            }
            long blocks = (n + CudaSource.THREADS - 1) / CudaSource.THREADS;
            launch(f, k.cuda().entry(), (int) blocks, CudaSource.THREADS, 0, args);
        }
    }

    /** The ops whose Java kernel ran on host copies so far; for tests. */
    Set<String> opsRunOnHost() {
        return opKernels.hostRuns();
    }

    @Override
    public void reduce(ReduceOp op, Operand x, int axis, Operand out) {
        try (var pins = pin(x, out)) {
            Layout xLayout = x.layout();
            int outOffset = out.layout().offset();
            CudaStorage xs = cuda(x.storage());
            CudaStorage os = written(out.storage());
            int[] shape = xLayout.shape();
            int outer = xLayout.outer(axis);
            int inner = xLayout.inner(axis);
            long outputs = (long) outer * inner;
            if (outputs == 0) {
                return;
            }
            launch(
                    "gradus_reduce",
                    (int) outputs,
                    THREADS,
                    0,
                    op.ordinal(),
                    new L(xs.address),
                    new L(xLayout.offset()),
                    outer,
                    shape[axis],
                    inner,
                    new L(os.address),
                    new L(outOffset));
        }
    }

    // ------------------------------------------------------------------ GEMM

    @Override
    public void matmul(Operand ao, Operand bo, Operand out) {
        try (var pins = pin(ao, bo, out)) {
            Layout aLayout = ao.layout();
            Layout bLayout = bo.layout();
            Layout outLayout = out.layout();
            Storage a = ao.storage();
            Storage b = bo.storage();
            CudaStorage as = cuda(a);
            CudaStorage bs = cuda(b);
            CudaStorage os = cuda(out.storage());
            int r = outLayout.rank();
            int m = outLayout.shape()[r - 2];
            int n = outLayout.shape()[r - 1];
            int k = aLayout.shape()[r - 1];
            if (outLayout.numel() == 0) {
                return;
            }
            if (k == 0) {
                // A sum of no products: zeros, as PyTorch ([3, 0] x [0, 4]); cuBLAS takes no empty operand.
                fill(out, 0f);
                return;
            }
            GemmPlan plan = GemmPlan.of(aLayout, bLayout, outLayout);
            if (plan == null) {
                // An odd view: copy the operand that cuBLAS cannot take to a dense buffer first.
                Storage[] tmp = new Storage[2];
                try {
                    Layout al = aLayout;
                    Layout bl = bLayout;
                    if (GemmPlan.Operand.of(aLayout) == null) {
                        tmp[0] = allocate(DType.FLOAT32, aLayout.numel());
                        al = Layout.contiguous(aLayout.shape());
                        unary(UnaryOp.IDENTITY, 0f, ao, new Operand(tmp[0], al));
                    }
                    if (GemmPlan.Operand.of(bLayout) == null) {
                        tmp[1] = allocate(DType.FLOAT32, bLayout.numel());
                        bl = Layout.contiguous(bLayout.shape());
                        unary(UnaryOp.IDENTITY, 0f, bo, new Operand(tmp[1], bl));
                    }
                    matmul(
                            tmp[0] != null ? new Operand(tmp[0], al) : ao,
                            tmp[1] != null ? new Operand(tmp[1], bl) : bo,
                            out);
                } finally {
                    for (Storage t : tmp) {
                        if (t != null) {
                            free(t);
                        }
                    }
                }
                return;
            }
            cublasContext blas = takeBlasHandle();
            try {
                for (int bi = 0; bi < plan.outOffsets().length; bi++) {
                    int status = cublas.cublasSgemm_v2(
                            blas,
                            plan.transFirst() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                            plan.transSecond() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                            plan.n(),
                            plan.m(),
                            plan.k(),
                            one,
                            new FloatPointer(Cuda.pointer(bs.at(plan.bOffsets()[bi]))),
                            plan.ldFirst(),
                            new FloatPointer(Cuda.pointer(as.at(plan.aOffsets()[bi]))),
                            plan.ldSecond(),
                            zero,
                            new FloatPointer(Cuda.pointer(os.at(plan.outOffsets()[bi]))),
                            plan.ldOut());
                    Cuda.checkBlas(status, "cublasSgemm " + m + "x" + k + "x" + n);
                }
            } finally {
                blasHandles.offer(blas);
            }
        }
    }

    /**
     * Raw {@code C = A x B} on dense row-major device buffers with no checks and no wait: the cuBLAS baseline that
     * benchmarks compare the Tensor API against (call {@link #synchronize} to time it).
     */
    public void rawSgemm(Storage a, Storage b, Storage c, int m, int n, int k) {
        try (var pins = pin(a, b, c)) {
            cublasContext blas = takeBlasHandle();
            try {
                Cuda.checkBlas(
                        cublas.cublasSgemm_v2(
                                blas,
                                cublas.CUBLAS_OP_N,
                                cublas.CUBLAS_OP_N,
                                n,
                                m,
                                k,
                                one,
                                new FloatPointer(Cuda.pointer(cuda(b).address)),
                                n,
                                new FloatPointer(Cuda.pointer(cuda(a).address)),
                                k,
                                zero,
                                new FloatPointer(Cuda.pointer(cuda(c).address)),
                                n),
                        "cublasSgemm");
            } finally {
                blasHandles.offer(blas);
            }
        }
    }

    // ------------------------------------------------------------------ softmax, labels, optimizers

    @Override
    public void logSoftmax(Operand x, Operand out) {
        try (var pins = pin(x, out)) {
            Operand.requireDense("logSoftmax", x, out);
            int[] shape = x.shape();
            int cols = shape.length == 0 ? 1 : shape[shape.length - 1];
            int rows = cols == 0 ? 0 : x.numel() / cols;
            if (rows == 0) {
                return;
            }
            launch(
                    "gradus_log_softmax",
                    rows,
                    THREADS,
                    0,
                    new L(addr(x)),
                    new L(0),
                    rows,
                    cols,
                    new L(addr(out)),
                    new L(0));
        }
    }

    @Override
    public void index(IndexOp op, int axis, Operand x, Operand index, Operand out) {
        try (var pins = pin(x, index, out)) {
            Layout il = index.layout();
            boolean gather = op == IndexOp.GATHER;
            Layout addressed = gather ? x.layout() : out.layout();
            // Indices are checked on the host (read back unless the host wrote them), so the message names the bad
            // one.
            CudaStorage is = cuda(index.storage());
            int[] host = is.hostInts;
            if (host == null) {
                host = new int[is.numel()];
                readInts(is, 0, host, 0, host.length);
            }
            int[] values = host;
            op.check(axis, il, o -> values[o], addressed.shape()[axis]);
            long n = il.numel();
            if (n == 0) {
                return;
            }
            CudaStorage os = written(out.storage());
            launchOver(
                    "gradus_index",
                    n,
                    op.ordinal(),
                    axis,
                    new L(cuda(x.storage()).address),
                    x.layout(),
                    new L(is.address),
                    il,
                    new L(os.address),
                    out.layout(),
                    new L(n));
        }
    }

    @Override
    public void oneHot(Operand labelsOperand, Operand out) {
        try (var pins = pin(labelsOperand, out)) {
            Operand.requireDense("oneHot", labelsOperand, out);
            Storage labels = labelsOperand.storage();
            int offset = 0;
            int n = out.shape()[0];
            int classes = out.shape()[1];
            // Labels are checked on the host, so that the message names the bad one as the CPU backend's does.
            // Labels the host wrote are checked against its copy, without waiting for the device; labels a kernel
            // made (an argmax) are read back first.
            CudaStorage ls = cuda(labels);
            checkRange(ls, offset, n, "oneHot");
            int[] known = ls.hostInts;
            int[] host;
            int from;
            if (known != null) {
                host = known;
                from = offset;
            } else {
                host = new int[n];
                readInts(labels, offset, host, 0, n);
                from = 0;
            }
            for (int r = 0; r < n; r++) {
                int label = host[from + r];
                if (label < 0 || label >= classes) {
                    throw new IllegalArgumentException(
                            "label " + label + " at index " + r + " is outside [0, " + classes + ")");
                }
            }
            if (n == 0) {
                return;
            }
            launchOver("gradus_one_hot", (long) n * classes, new L(ls.at(offset)), n, classes, new L(addr(out)));
        }
    }

    @Override
    public void adamStep(Operand param, Operand grad, Operand m, Operand v, AdamStep h) {
        try (var pins = pin(param, grad, m, v)) {
            int n = Operand.requireDenseSameSize("adamStep", param, grad, m, v);
            launchOver(
                    "gradus_adam_step",
                    n,
                    new L(addr(param)),
                    new L(addr(grad)),
                    new L(addr(m)),
                    new L(addr(v)),
                    new L(n),
                    h.weightFactor(),
                    h.l2(),
                    h.beta1(),
                    h.beta2(),
                    h.stepSize(),
                    h.invSqrtBiasCorrection2(),
                    h.eps());
        }
    }

    @Override
    public void sgdStep(Operand param, Operand grad, Operand momentumBuf, SgdStep h) {
        try (var pins = pin(param, grad, momentumBuf)) {
            int n = Operand.requireDenseSameSize("sgdStep", param, grad, momentumBuf);
            launchOver(
                    "gradus_sgd_step",
                    n,
                    new L(addr(param)),
                    new L(addr(grad)),
                    new L(addr(momentumBuf)),
                    new L(n),
                    h.lr(),
                    momentumBuf == null ? 0f : h.momentum(),
                    h.dampening(),
                    h.weightDecay(),
                    h.nesterov() ? 1 : 0,
                    h.firstStep() ? 1 : 0);
        }
    }

    // ------------------------------------------------------------------ convolution, pooling, batch norm

    private static long addr(Operand o) {
        return o == null ? 0L : cuda(o.storage()).address;
    }

    @Override
    public void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p) {
        try (var pins = pin(x, w, bias, out)) {
            Operand.requireDense("conv2d", x, w, bias, out);
            conv.forward(addr(x), x.shape(), addr(w), w.shape(), addr(bias), addr(out), out.shape(), p);
        }
    }

    @Override
    public void conv2dBackwardData(Operand dOut, Operand w, Operand dx, ConvParams p) {
        try (var pins = pin(dOut, w, dx)) {
            Operand.requireDense("conv2dBackwardData", dOut, w, dx);
            conv.backwardData(addr(dOut), dOut.shape(), addr(w), w.shape(), addr(dx), dx.shape(), p);
        }
    }

    @Override
    public void conv2dBackwardFilter(Operand x, Operand dOut, Operand dw, Operand dBias, ConvParams p) {
        try (var pins = pin(x, dOut, dw, dBias)) {
            Operand.requireDense("conv2dBackwardFilter", x, dOut, dw, dBias);
            conv.backwardFilter(addr(x), x.shape(), addr(dOut), dOut.shape(), addr(dw), dw.shape(), addr(dBias), p);
        }
    }

    @Override
    public void pool2d(PoolOp op, Operand x, Operand out, Operand argmax, PoolParams p) {
        try (var pins = pin(x, out, argmax)) {
            Operand.requireDense("pool2d", x, out, argmax);
            if (argmax != null) {
                written(argmax.storage());
            }
            int[] xShape = x.shape();
            int[] outShape = out.shape();
            int planes = xShape[0] * xShape[1];
            long total = (long) planes * outShape[2] * outShape[3];
            if (total == 0) {
                return;
            }
            launchOver(
                    "gradus_pool2d",
                    total,
                    op.ordinal(),
                    new L(addr(x)),
                    planes,
                    xShape[2],
                    xShape[3],
                    new L(addr(out)),
                    new L(op == PoolOp.MAX ? addr(argmax) : 0L),
                    outShape[2],
                    outShape[3],
                    p.kernelH(),
                    p.kernelW(),
                    p.strideH(),
                    p.strideW(),
                    p.padH(),
                    p.padW());
        }
    }

    @Override
    public void pool2dBackward(PoolOp op, Operand dOut, Operand argmax, Operand dx, PoolParams p) {
        try (var pins = pin(dOut, argmax, dx)) {
            Operand.requireDense("pool2dBackward", dOut, argmax, dx);
            int[] xShape = dx.shape();
            int[] outShape = dOut.shape();
            int planes = xShape[0] * xShape[1];
            long total = (long) planes * xShape[2] * xShape[3];
            if (total == 0) {
                return;
            }
            launchOver(
                    "gradus_pool2d_backward",
                    total,
                    op.ordinal(),
                    new L(addr(dOut)),
                    new L(op == PoolOp.MAX ? addr(argmax) : 0L),
                    planes,
                    xShape[2],
                    xShape[3],
                    new L(addr(dx)),
                    outShape[2],
                    outShape[3],
                    p.kernelH(),
                    p.kernelW(),
                    p.strideH(),
                    p.strideW(),
                    p.padH(),
                    p.padW());
        }
    }

    @Override
    public void batchNormTrain(Operand x, Operand out, BatchNormArgs p) {
        try (var pins =
                pin(x, out, p.gamma(), p.beta(), p.runningMean(), p.runningVar(), p.saveMean(), p.saveInvStd())) {
            BatchNormDims d = BatchNormDims.of("batchNormTrain", x, p, out);
            if (d.n() * (long) d.hw() < 1) {
                throw new IllegalArgumentException("batchNorm: no values per channel");
            }
            if (d.c() == 0) {
                return;
            }
            launch(
                    "gradus_bn_train",
                    d.c(),
                    THREADS,
                    0,
                    new L(addr(x)),
                    d.n(),
                    d.c(),
                    d.hw(),
                    new L(addr(p.gamma())),
                    new L(addr(p.beta())),
                    p.eps(),
                    p.momentum(),
                    new L(addr(p.runningMean())),
                    new L(addr(p.runningVar())),
                    new L(addr(out)),
                    new L(addr(p.saveMean())),
                    new L(addr(p.saveInvStd())));
        }
    }

    @Override
    public void batchNormBackward(Operand x, Operand dOut, BatchNormArgs p, Operand dx, Operand dGamma, Operand dBeta) {
        try (var pins = pin(x, dOut, p.gamma(), p.saveMean(), p.saveInvStd(), dx, dGamma, dBeta)) {
            BatchNormDims d = BatchNormDims.of("batchNormBackward", x, p, dOut, dx, dGamma, dBeta);
            if (d.c() == 0) {
                return;
            }
            launch(
                    "gradus_bn_backward",
                    d.c(),
                    THREADS,
                    0,
                    new L(addr(x)),
                    new L(addr(dOut)),
                    d.n(),
                    d.c(),
                    d.hw(),
                    new L(addr(p.gamma())),
                    new L(addr(p.saveMean())),
                    new L(addr(p.saveInvStd())),
                    new L(addr(dx)),
                    new L(addr(dGamma)),
                    new L(addr(dBeta)));
        }
    }

    @Override
    public void channelAffine(Operand x, Operand scale, Operand shift, Operand out) {
        try (var pins = pin(x, scale, shift, out)) {
            BatchNormDims d = BatchNormDims.of("channelAffine", x, scale, shift, out);
            long total = (long) d.n() * d.c() * d.hw();
            if (total == 0) {
                return;
            }
            launchOver(
                    "gradus_channel_affine",
                    total,
                    new L(addr(x)),
                    d.n(),
                    d.c(),
                    d.hw(),
                    new L(addr(scale)),
                    new L(addr(shift)),
                    new L(addr(out)));
        }
    }

    @Override
    public Map<String, String> describe() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("device", Integer.toString(device));
        d.put("architecture", arch);
        d.put("kernels", "NVRTC, " + CudaKernels.ENTRY_POINTS.size() + " entry points");
        d.put("convolution", "cuDNN, " + conv.plans() + " shapes planned");
        d.put("status", "experimental: not yet verified on a GPU");
        return d;
    }
}
