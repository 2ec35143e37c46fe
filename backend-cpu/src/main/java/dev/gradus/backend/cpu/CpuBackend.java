package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;

import dev.gradus.DType;
import dev.gradus.Device;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
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

/**
 * The CPU backend: GEMM through OpenBLAS on native memory, every other kernel in Java split over a fixed thread
 * pool, convolution, pooling and batch norm on oneDNN when it loads.
 *
 * <p>This class is the {@link Backend} face only: each op pins its operands' storages ({@link StoragePins}) for its
 * duration and hands them to the class that owns it: memory to {@link CpuAllocator}, elementwise ops to
 * {@link CpuElementwise}, reductions to {@link CpuReduce}, matrix products and their routing policy to
 * {@link CpuMatmul}, log-softmax to {@link CpuSoftmax}, one-hot, gather and scatter to {@link CpuIndexing},
 * optimizers' fused steps to {@link CpuUpdates}, ops' own Java kernels to {@link CpuOpKernels}, convolution, pooling
 * and batch norm to {@link CpuConvDispatch}, and {@link #describe} to {@link CpuDiagnostics}. A Java kernel reaches a
 * storage's buffers only through a view that states their order: {@link CpuStorage#plain} (row-major, reordered
 * first if need be) or, under a read hold, {@link CpuStorage.BlockedReads#view} (a oneDNN layout as it is); oneDNN
 * ops take {@link CpuStorage#asStored}.
 *
 * <p>Results are bit-identical run to run for a given thread count: each output element is computed by one thread
 * in a fixed order.
 */
public final class CpuBackend implements Backend {
    private final Parallel parallel;
    private final OpenBlasInfo blas;
    /** Null when oneDNN is off or could not load: convolution then runs through im2col. */
    private final Dnnl dnnl;

    private final String convolutionPath;
    private final CpuAllocator allocator = new CpuAllocator();
    private final CpuElementwise elementwise;
    private final CpuReduce reduce;
    private final CpuMatmul matmul;
    private final CpuSoftmax softmax;
    private final CpuUpdates updates;
    private final CpuConvDispatch convolutions;
    private final CpuDiagnostics diagnostics;
    /** This backend's oneDNN plans (null without oneDNN). */
    private final DnnlPlanCache plans;

    CpuBackend(int threads, OpenBlasInfo blas, Dnnl dnnl, String convolutionPath) {
        this(threads, blas, dnnl, convolutionPath, false);
    }

    private CpuBackend(int threads, OpenBlasInfo blas, Dnnl dnnl, String convolutionPath, boolean matmulsOnDnnl) {
        this.parallel = new Parallel(threads);
        this.blas = blas;
        this.dnnl = dnnl;
        this.convolutionPath = convolutionPath;
        DnnlLayout.Registry layouts = dnnl == null ? null : new DnnlLayout.Registry(dnnl);
        this.plans = dnnl == null ? null : DnnlPlanCache.fromProperties(allocator::trim);
        DnnlConv dnnlConv = dnnl == null ? null : new DnnlConv(dnnl, layouts, plans);
        DnnlEltwise dnnlEltwise = dnnl == null ? null : new DnnlEltwise(dnnl, plans);
        DnnlMatmul dnnlMatmul = dnnl == null ? null : new DnnlMatmul(dnnl, plans);
        DnnlPool dnnlPool = dnnl == null ? null : new DnnlPool(dnnl, layouts, plans);
        DnnlBatchNorm dnnlBatchNorm = dnnl == null ? null : new DnnlBatchNorm(dnnl, this, plans);
        this.elementwise = new CpuElementwise(parallel, dnnlEltwise);
        this.reduce = new CpuReduce(parallel);
        this.matmul = new CpuMatmul(allocator, elementwise, dnnlMatmul, matmulsOnDnnl);
        this.softmax = new CpuSoftmax(parallel);
        this.updates = new CpuUpdates(parallel);
        this.convolutions = new CpuConvDispatch(allocator, parallel, elementwise, dnnlConv, dnnlPool, dnnlBatchNorm);
        this.diagnostics = new CpuDiagnostics(parallel, blas, dnnl, dnnlConv, dnnlMatmul, dnnlPool, convolutionPath);
    }

    /** This backend's oneDNN plans, or null without oneDNN; for tests. */
    DnnlPlanCache dnnlPlans() {
        return plans;
    }

    /**
     * A second backend on this one's libraries whose matrix products go to oneDNN from the start (without waiting
     * for a convolution); for the conformance suite on that path.
     */
    CpuBackend withMatmulsOnDnnl() {
        return new CpuBackend(parallel.threads(), blas, dnnl, convolutionPath, true);
    }

    /** Matrix products oneDNN ran so far (0 without oneDNN); for tests. */
    long dnnlMatmulCalls() {
        return diagnostics.dnnlMatmulCalls();
    }

    /** oneDNN convolution primitives made so far (0 without oneDNN); for tests and diagnostics. */
    int dnnlConvPlans() {
        return diagnostics.dnnlConvPlans();
    }

    /** Pooling passes that ran through oneDNN on blocked data (0 without oneDNN); for tests and diagnostics. */
    long dnnlPoolCalls() {
        return diagnostics.dnnlPoolCalls();
    }

    /** How convolutions run: {@code "oneDNN 3.11.0"}, or im2col with the reason oneDNN is not used. */
    public String convolutionPath() {
        return convolutionPath;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Device device() {
        return new Device("cpu", 0);
    }

    /** The Java kernels' thread pool. */
    Parallel parallel() {
        return parallel;
    }

    /** Java kernel threads. */
    public int threads() {
        return parallel.threads();
    }

    private StoragePins<CpuStorage> pin(Operand... ops) {
        return StoragePins.of(CpuStorage::asStored, allocator::recycle, ops);
    }

    private StoragePins<CpuStorage> pin(Storage... storages) {
        return StoragePins.of(CpuStorage::asStored, allocator::recycle, storages);
    }

    // ------------------------------------------------------------------ memory

    /**
     * Java kernels address a storage through one direct {@code ByteBuffer} (int positions, 2^31-1 bytes at most), so
     * a storage holds at most {@code (2^31-1) / bytes} elements: 536870911 floats.
     */
    @Override
    public int maxElements(DType dtype) {
        return CpuAllocator.maxElements(dtype);
    }

    @Override
    public Storage allocate(DType dtype, int numel) {
        return allocator.allocate(dtype, numel);
    }

    @Override
    public void free(Storage storage) {
        allocator.free(storage);
    }

    /** Also frees the oneDNN plans (each when no thread runs it any more); the next calls make them again. */
    @Override
    public void trim() {
        allocator.trim();
        if (plans != null) {
            plans.clear();
        }
    }

    @Override
    public MemoryStats memory() {
        return allocator.memory();
    }

    @Override
    public void write(Storage dst, int offset, float[] src, int srcOffset, int length) {
        try (var pins = pin(dst)) {
            plain(dst).f.put(offset, src, srcOffset, length);
        }
    }

    @Override
    public void read(Storage src, int offset, float[] dst, int dstOffset, int length) {
        try (var pins = pin(src)) {
            plain(src).f.get(offset, dst, dstOffset, length);
        }
    }

    @Override
    public void writeInts(Storage dst, int offset, int[] src, int srcOffset, int length) {
        try (var pins = pin(dst)) {
            plain(dst).i.put(offset, src, srcOffset, length);
        }
    }

    @Override
    public void readInts(Storage src, int offset, int[] dst, int dstOffset, int length) {
        try (var pins = pin(src)) {
            plain(src).i.get(offset, dst, dstOffset, length);
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
    public void unary(UnaryOp op, float s, Operand x, Operand out) {
        try (var pins = pin(x, out)) {
            elementwise.unary(op, s, x, out);
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
    public void oneHot(Operand labels, Operand out) {
        try (var pins = pin(labels, out)) {
            CpuIndexing.oneHot(labels, out);
        }
    }

    @Override
    public void index(IndexOp op, int axis, Operand x, Operand index, Operand out) {
        try (var pins = pin(x, index, out)) {
            CpuIndexing.index(op, axis, x, index, out);
        }
    }

    // ------------------------------------------------------------------ GEMM, softmax, optimizers

    @Override
    public void matmul(Operand a, Operand b, Operand out) {
        try (var pins = pin(a, b, out)) {
            matmul.matmul(a, b, out);
        }
    }

    /** Raw {@code C = A x B} on row-major buffers with no checks: the baseline benchmarks compare against. */
    public void rawSgemm(Storage a, Storage b, Storage c, int m, int n, int k) {
        matmul.rawSgemm(a, b, c, m, n, k);
    }

    /**
     * The same product as {@link #rawSgemm} through oneDNN's matmul primitive, for {@code MatmulBenchmark}'s
     * comparison; false when oneDNN is not loaded.
     */
    public boolean rawDnnlMatmul(Storage a, Storage b, Storage c, int m, int n, int k) {
        return matmul.rawDnnlMatmul(a, b, c, m, n, k);
    }

    @Override
    public void logSoftmax(Operand x, Operand out) {
        try (var pins = pin(x, out)) {
            softmax.logSoftmax(x, out);
        }
    }

    /** Runs the update's Java kernel on the storages' own memory, split over the threads ({@link CpuUpdates}). */
    @Override
    public void runUpdate(UpdateKernels kernels, Operand[] updated, Operand[] inputs, float[] scalars) {
        Operand[] all = Arrays.copyOf(updated, updated.length + inputs.length);
        System.arraycopy(inputs, 0, all, updated.length, inputs.length);
        try (var pins = pin(all)) {
            updates.run(kernels, updated, inputs, scalars);
        }
    }

    // ------------------------------------------------------------------ convolution, pooling, batch norm

    @Override
    public void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p) {
        conv2d(x, w, bias, out, p, UnaryOp.IDENTITY);
    }

    @Override
    public void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p, UnaryOp activation) {
        try (var pins = pin(x, w, bias, out)) {
            if (!convolutions.conv2d(x, w, bias, out, p, activation)) {
                Backend.super.conv2d(x, w, bias, out, p, activation); // unfused
            }
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
        try (var pins = pin(
                x,
                dOut,
                dx,
                dGamma,
                dBeta,
                p.gamma(),
                p.beta(),
                p.runningMean(),
                p.runningVar(),
                p.saveMean(),
                p.saveInvStd())) {
            convolutions.batchNormBackward(x, dOut, p, dx, dGamma, dBeta);
        }
    }

    // ------------------------------------------------------------------ ops' own kernels

    @Override
    public void runKernel(OpKernels kernels, Operand[] inputs, Operand out) {
        Operand[] all = Arrays.copyOf(inputs, inputs.length + 1);
        all[inputs.length] = out;
        try (var pins = pin(all)) {
            CpuOpKernels.run(kernels, inputs, out);
        }
    }

    // ------------------------------------------------------------------ diagnostics

    @Override
    public Map<String, String> describe() {
        return diagnostics.describe();
    }

    /** What OpenBLAS reported when it loaded. */
    public OpenBlasInfo openBlas() {
        return blas;
    }
}
