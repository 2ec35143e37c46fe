package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaOperands.cuda;

import dev.gradus.DType;
import dev.gradus.Device;
import dev.gradus.backend.cuda.CudaLauncher.Args;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.CudaSource;
import dev.gradus.spi.IndexOp;
import dev.gradus.spi.MemoryStats;
import dev.gradus.spi.OpKernels;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.Storage;
import dev.gradus.spi.StoragePins;
import dev.gradus.spi.UnaryOp;
import dev.gradus.spi.UpdateKernels;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The CUDA backend: tensors in device memory from a {@link CachingAllocator}, cuBLAS for GEMM, Gradus' own NVRTC
 * kernels for elementwise ops, reductions and log-softmax, and ops' and optimizers' own kernels, all queued on one
 * stream; the host waits only where a value comes back ({@link #read}, {@link #readInts}, {@link #synchronize}), when it is four
 * uploads ahead of the device, and when {@link #oneHot} is given labels a kernel made (it reads them back to name a
 * bad one; labels the host wrote are checked against the host's copy).
 *
 * <p>Convolution goes through cuDNN; pooling and batch norm are Gradus kernels (the SPI's max pooling keeps an
 * arg-max, which cuDNN's does not).
 *
 * <p>This class is the {@link Backend} face only: each op binds the thread, pins its operands' storages
 * ({@link StoragePins}) for its duration and hands them to the class that owns it: host-device copies to
 * {@link CudaTransfers}, kernel launches to {@link CudaLauncher}, elementwise ops to {@link CudaElementwise},
 * reductions to {@link CudaReduce}, matrix products to {@link CudaMatmul} (cuBLAS), log-softmax to
 * {@link CudaSoftmax}, one-hot, gather and scatter to {@link CudaIndexing}, ops' and optimizers' own kernels to
 * {@link CudaOpKernels}, convolution, pooling and batch norm to {@link CudaConvDispatch}, and {@link #describe} to {@link CudaDiagnostics}.
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
    /**
     * The device this class last made current on each thread (-1: none). CUDA's current device, and with it the
     * driver's current context that {@code cuLaunchKernel} needs, is per thread: a thread that never called the
     * runtime has no context (the launch fails with CUDA_ERROR_INVALID_CONTEXT) and one that did is on device 0.
     */
    private static final ThreadLocal<int[]> BOUND = ThreadLocal.withInitial(() -> new int[] {-1});

    private final int device;
    private final CUstream_st stream = new CUstream_st();
    /** How often the host has waited for the stream: tests check that a training step does not. */
    private final AtomicLong hostWaits = new AtomicLong();

    private final CachingAllocator allocator;
    private final CudaModule kernels;
    private final CudaOpKernels opKernels;
    private final String arch;
    private final CudaTransfers transfers;
    private final CudaLauncher launcher;
    private final CudaElementwise elementwise;
    private final CudaReduce reduce;
    private final CudaMatmul matmul;
    private final CudaSoftmax softmax;
    private final CudaIndexing indexing;
    private final CudaConvDispatch convolutions;

    CudaBackend(int device, boolean tf32) {
        this.device = device;
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
        this.matmul =
                new CudaMatmul(stream, tf32, this); // its first cuBLAS handle: fails here when cuBLAS does not load
        this.transfers = new CudaTransfers(stream, hostWaits);
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
        this.launcher = new CudaLauncher(kernels, stream);
        this.elementwise = new CudaElementwise(launcher);
        this.reduce = new CudaReduce(launcher);
        this.softmax = new CudaSoftmax(launcher);
        this.indexing = new CudaIndexing(launcher, transfers);
        this.convolutions = new CudaConvDispatch(launcher, new CudnnConv(stream, allocator, tf32));
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

    long hostWaits() {
        return hostWaits.get();
    }

    /** cuBLAS handles made so far, idle now: tests check that concurrent calls got handles of their own. */
    int idleBlasHandles() {
        return matmul.idleHandles();
    }

    /** As {@link #idleBlasHandles} for cuDNN. */
    int idleCudnnHandles() {
        return convolutions.idleHandles();
    }

    /**
     * The storages of one op, held until its work is queued ({@link StoragePins}), after binding the thread to the
     * device: a tensor another thread closes meanwhile goes back to the allocator only when the op is done with it,
     * and then behind the op's work on the stream.
     */
    private StoragePins<CudaStorage> pin(Operand... ops) {
        bind();
        return StoragePins.of(CudaOperands::cuda, s -> allocator.release(s.address), ops);
    }

    private StoragePins<CudaStorage> pin(Storage... storages) {
        bind();
        return StoragePins.of(CudaOperands::cuda, s -> allocator.release(s.address), storages);
    }

    @Override
    public void write(Storage dst, int offset, float[] src, int srcOffset, int length) {
        try (var pins = pin(dst)) {
            transfers.write(dst, offset, src, srcOffset, length);
        }
    }

    @Override
    public void read(Storage src, int offset, float[] dst, int dstOffset, int length) {
        try (var pins = pin(src)) {
            transfers.read(src, offset, dst, dstOffset, length);
        }
    }

    @Override
    public void writeInts(Storage dst, int offset, int[] src, int srcOffset, int length) {
        try (var pins = pin(dst)) {
            transfers.writeInts(dst, offset, src, srcOffset, length);
        }
    }

    @Override
    public void readInts(Storage src, int offset, int[] dst, int dstOffset, int length) {
        try (var pins = pin(src)) {
            transfers.readInts(src, offset, dst, dstOffset, length);
        }
    }

    // ------------------------------------------------------------------ elementwise, reductions, indexing

    @Override
    public void fill(Operand dst, float value) {
        try (var pins = pin(dst)) {
            elementwise.fill(dst, value);
        }
    }

    @Override
    public void unary(UnaryOp op, float scalar, Operand x, Operand out) {
        try (var pins = pin(x, out)) {
            elementwise.unary(op, scalar, x, out);
        }
    }

    @Override
    public void binary(BinaryOp op, Operand a, Operand b, Operand out) {
        try (var pins = pin(a, b, out)) {
            elementwise.binary(op, a, b, out);
        }
    }

    @Override
    public void channelAffine(Operand x, Operand scale, Operand shift, Operand out) {
        try (var pins = pin(x, scale, shift, out)) {
            elementwise.channelAffine(x, scale, shift, out);
        }
    }

    @Override
    public void reduce(ReduceOp op, Operand x, int axis, Operand out) {
        try (var pins = pin(x, out)) {
            reduce.reduce(op, x, axis, out);
        }
    }

    @Override
    public void index(IndexOp op, int axis, Operand x, Operand index, Operand out) {
        try (var pins = pin(x, index, out)) {
            indexing.index(op, axis, x, index, out);
        }
    }

    @Override
    public void oneHot(Operand labelsOperand, Operand out) {
        try (var pins = pin(labelsOperand, out)) {
            indexing.oneHot(labelsOperand, out);
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
            opKernels.launch(k, inputs, out, launcher);
        }
    }

    /** The ops whose Java kernel ran on host copies so far; for tests. */
    Set<String> opsRunOnHost() {
        return opKernels.hostRuns();
    }

    // ------------------------------------------------------------------ GEMM, softmax, optimizers

    @Override
    public void matmul(Operand ao, Operand bo, Operand out) {
        try (var pins = pin(ao, bo, out)) {
            matmul.matmul(ao, bo, out);
        }
    }

    /**
     * Raw {@code C = A x B} on dense row-major device buffers with no checks and no wait: the cuBLAS baseline that
     * benchmarks compare the Tensor API against (call {@link #synchronize} to time it).
     */
    public void rawSgemm(Storage a, Storage b, Storage c, int m, int n, int k) {
        try (var pins = pin(a, b, c)) {
            matmul.rawSgemm(a, b, c, m, n, k);
        }
    }

    @Override
    public void logSoftmax(Operand x, Operand out) {
        try (var pins = pin(x, out)) {
            softmax.logSoftmax(x, out);
        }
    }

    /**
     * An elementwise in-place update (an optimizer's fused step): its CUDA source (compiled once, launched one thread
     * per element as {@link UpdateKernels} states) or, when it has none, its Java kernel on host copies, said once in
     * the log.
     */
    @Override
    public void runUpdate(UpdateKernels k, Operand[] updated, Operand[] inputs, float[] scalars) {
        int n = k.check(updated, inputs, scalars);
        if (k.cuda() == null) {
            opKernels.noteHostRun(k.name());
            Backend.super.runUpdate(k, updated, inputs, scalars);
            return;
        }
        if (2 * (updated.length + inputs.length) + scalars.length > Args.MAX) {
            throw new IllegalArgumentException(k.name() + ": a CUDA kernel takes at most " + Args.MAX
                    + " arguments, two per operand and one per scalar");
        }
        Operand[] all = Arrays.copyOf(updated, updated.length + inputs.length);
        System.arraycopy(inputs, 0, all, updated.length, inputs.length);
        try (var pins = pin(all)) {
            opKernels.launchUpdate(k, updated, inputs, scalars, n, launcher);
        }
    }

    // ------------------------------------------------------------------ convolution, pooling, batch norm

    @Override
    public void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p) {
        try (var pins = pin(x, w, bias, out)) {
            convolutions.conv2d(x, w, bias, out, p);
        }
    }

    @Override
    public void conv2dBackwardData(Operand dOut, Operand w, Operand dx, ConvParams p) {
        try (var pins = pin(dOut, w, dx)) {
            convolutions.conv2dBackwardData(dOut, w, dx, p);
        }
    }

    @Override
    public void conv2dBackwardFilter(Operand x, Operand dOut, Operand dw, Operand dBias, ConvParams p) {
        try (var pins = pin(x, dOut, dw, dBias)) {
            convolutions.conv2dBackwardFilter(x, dOut, dw, dBias, p);
        }
    }

    @Override
    public void pool2d(PoolOp op, Operand x, Operand out, Operand argmax, PoolParams p) {
        try (var pins = pin(x, out, argmax)) {
            convolutions.pool2d(op, x, out, argmax, p);
        }
    }

    @Override
    public void pool2dBackward(PoolOp op, Operand dOut, Operand argmax, Operand dx, PoolParams p) {
        try (var pins = pin(dOut, argmax, dx)) {
            convolutions.pool2dBackward(op, dOut, argmax, dx, p);
        }
    }

    @Override
    public void batchNormTrain(Operand x, Operand out, BatchNormArgs p) {
        try (var pins =
                pin(x, out, p.gamma(), p.beta(), p.runningMean(), p.runningVar(), p.saveMean(), p.saveInvStd())) {
            convolutions.batchNormTrain(x, out, p);
        }
    }

    @Override
    public void batchNormBackward(Operand x, Operand dOut, BatchNormArgs p, Operand dx, Operand dGamma, Operand dBeta) {
        try (var pins = pin(x, dOut, p.gamma(), p.saveMean(), p.saveInvStd(), dx, dGamma, dBeta)) {
            convolutions.batchNormBackward(x, dOut, p, dx, dGamma, dBeta);
        }
    }

    @Override
    public Map<String, String> describe() {
        return CudaDiagnostics.describe(device, arch, convolutions.plans());
    }
}
