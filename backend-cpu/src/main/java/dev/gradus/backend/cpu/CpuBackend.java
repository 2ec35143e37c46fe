package dev.gradus.backend.cpu;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import dev.gradus.DType;
import dev.gradus.Device;
import dev.gradus.spi.AdamStep;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.BatchNormDims;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.IndexOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.MemoryStats;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.SgdStep;
import dev.gradus.spi.Storage;
import dev.gradus.spi.UnaryOp;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The CPU backend: GEMM through OpenBLAS on native memory, every other kernel in Java split over a fixed thread
 * pool.
 *
 * <p>Freed storages go to a per-size cache, so a training loop in steady state makes no native allocations. The
 * cache is bounded: it holds at most as many bytes as were ever live at once (at least 16 MiB), or
 * {@code gradus.cpu.maxCachedBytes} when that is set, and gives up the least recently used sizes first. When a
 * native allocation fails (JavaCPP's cap, {@code -Xmx} by default, or malloc), the whole cache is given back and
 * the allocation retried once, as PyTorch's caching allocator does.
 * Results are bit-identical run to run for a given thread count: each output element is computed by one thread
 * in a fixed order.
 */
public final class CpuBackend implements Backend {
    private final Parallel parallel;
    private final OpenBlasInfo blas;
    /** Freed storages by size, least recently used size first. */
    private final LinkedHashMap<Long, ArrayDeque<CpuStorage>> cache = new LinkedHashMap<>(16, 0.75f, true);

    /** The floor of the cache's bound: small workloads keep every size. */
    static final long MIN_CACHE_BYTES = 16L << 20;
    /** A fixed bound on the cached bytes ({@code gradus.cpu.maxCachedBytes}), or -1 for the peak live bytes. */
    private final long maxCachedBytes = cacheLimitProperty();

    private long liveBytes;
    private long peakLiveBytes;
    private long reservedBytes;
    private long allocations;

    private final CpuConv conv;
    /** Null when oneDNN is off or could not load: convolution then runs through im2col. */
    private final Dnnl dnnl;

    private final DnnlConv dnnlConv;
    private final DnnlEltwise dnnlEltwise;
    private final DnnlMatmul dnnlMatmul;
    private final DnnlPool dnnlPool;
    private final DnnlBatchNorm dnnlBatchNorm;
    private final String convolutionPath;

    CpuBackend(int threads, OpenBlasInfo blas, Dnnl dnnl, String convolutionPath) {
        this.parallel = new Parallel(threads);
        this.blas = blas;
        this.conv = new CpuConv(this, parallel);
        this.dnnl = dnnl;
        DnnlLayout.Registry layouts = dnnl == null ? null : new DnnlLayout.Registry(dnnl);
        this.dnnlConv = dnnl == null ? null : new DnnlConv(dnnl, layouts);
        this.dnnlEltwise = dnnl == null ? null : new DnnlEltwise(dnnl);
        this.dnnlMatmul = dnnl == null ? null : new DnnlMatmul(dnnl);
        this.dnnlPool = dnnl == null ? null : new DnnlPool(dnnl, layouts);
        this.dnnlBatchNorm = dnnl == null ? null : new DnnlBatchNorm(dnnl, this);
        this.convolutionPath = convolutionPath;
    }

    /**
     * A second backend on this one's libraries whose matrix products go to oneDNN from the start (without waiting
     * for a convolution); for the conformance suite on that path.
     */
    CpuBackend withMatmulsOnDnnl() {
        CpuBackend b = new CpuBackend(parallel.threads(), blas, dnnl, convolutionPath);
        b.matmulsAlwaysOnDnnl = true;
        return b;
    }

    /** Matrix products oneDNN ran so far (0 without oneDNN); for tests. */
    long dnnlMatmulCalls() {
        return dnnlMatmul == null ? 0 : dnnlMatmul.calls();
    }

    /** oneDNN convolution primitives made so far (0 without oneDNN); for tests and diagnostics. */
    int dnnlConvPlans() {
        return dnnlConv == null ? 0 : dnnlConv.planCount();
    }

    /** Pooling passes that ran through oneDNN on blocked data (0 without oneDNN); for tests and diagnostics. */
    long dnnlPoolCalls() {
        return dnnlPool == null ? 0 : dnnlPool.calls();
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

    // ------------------------------------------------------------------ memory

    private static long key(DType dtype, int numel) {
        return ((long) numel << 1) | dtype.ordinal();
    }

    /**
     * Java kernels address a storage through one direct {@code ByteBuffer} (int positions, 2^31-1 bytes at most), so
     * a storage holds at most {@code (2^31-1) / bytes} elements: 536870911 floats.
     */
    @Override
    public int maxElements(DType dtype) {
        return Integer.MAX_VALUE / dtype.bytes();
    }

    private static long cacheLimitProperty() {
        String v = System.getProperty("gradus.cpu.maxCachedBytes");
        if (v == null || v.isBlank()) {
            return -1;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "gradus.cpu.maxCachedBytes must be a byte count >= 0, got \"" + v + "\"");
        }
    }

    /** The most bytes the cache keeps: the configured bound, else the peak live bytes (at least 16 MiB). */
    synchronized long cacheLimit() {
        return maxCachedBytes >= 0 ? maxCachedBytes : Math.max(MIN_CACHE_BYTES, peakLiveBytes);
    }

    @Override
    public synchronized Storage allocate(DType dtype, int numel) {
        if (numel < 0 || numel > maxElements(dtype)) {
            throw new IllegalArgumentException("cpu backend: cannot allocate " + numel + " " + dtype
                    + " elements; one storage holds at most " + maxElements(dtype)
                    + " (2^31-1 bytes, a direct buffer's limit)");
        }
        long key = key(dtype, numel);
        ArrayDeque<CpuStorage> q = cache.get(key);
        CpuStorage cached = q == null ? null : q.poll();
        // A fresh handle on the cached memory: the old handle stays released, so a stale pin fails (CpuStorage).
        CpuStorage s = cached == null ? null : new CpuStorage(cached);
        if (q != null && q.isEmpty()) {
            cache.remove(key);
        }
        if (s == null) {
            s = newStorage(dtype, numel);
            allocations++;
        } else {
            reservedBytes -= s.bytes();
        }
        s.claim();
        s.setLayout(null);
        liveBytes += s.bytes();
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return s;
    }

    /** A fresh native storage; when that fails, gives the cache back and tries once more. */
    private CpuStorage newStorage(DType dtype, int numel) {
        try {
            return new CpuStorage(dtype, numel);
        } catch (OutOfMemoryError e) {
            if (reservedBytes == 0) {
                throw e;
            }
            trim();
            return new CpuStorage(dtype, numel);
        }
    }

    @Override
    public void free(Storage storage) {
        CpuStorage s = raw(storage);
        boolean idle = s.release(); // throws for a storage already freed; contents no longer matter
        synchronized (this) {
            liveBytes -= s.bytes();
        }
        if (idle) {
            recycle(s);
        }
    }

    /** Puts a released storage that no op holds back in the cache. */
    private synchronized void recycle(CpuStorage s) {
        s.inUse = false;
        reservedBytes += s.bytes();
        cache.computeIfAbsent(key(s.dtype(), s.numel()), k -> new ArrayDeque<>())
                .push(s);
        evict(cacheLimit());
    }

    /** Frees cached storages, least recently used sizes first, until at most {@code limit} bytes stay cached. */
    private synchronized void evict(long limit) {
        var it = cache.values().iterator();
        while (reservedBytes > limit && it.hasNext()) {
            ArrayDeque<CpuStorage> q = it.next();
            while (reservedBytes > limit && !q.isEmpty()) {
                CpuStorage s = q.pollLast();
                reservedBytes -= s.bytes();
                s.deallocate();
            }
            if (q.isEmpty()) {
                it.remove();
            }
        }
    }

    /**
     * The storages of one op, held until it ends ({@link CpuStorage#pin}): a tensor another thread closes meanwhile
     * is recycled only after the op. Null operands are skipped.
     */
    private final class Pins implements AutoCloseable {
        private final CpuStorage[] held;
        private int count;

        Pins(Operand[] ops, Storage[] storages) {
            held = new CpuStorage[ops == null ? storages.length : ops.length];
            try {
                if (ops == null) {
                    for (Storage st : storages) {
                        hold(st);
                    }
                } else {
                    for (Operand o : ops) {
                        hold(o == null ? null : o.storage());
                    }
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        private void hold(Storage st) {
            if (st == null) {
                return; // an absent optional operand (a bias, an argmax)
            }
            CpuStorage c = raw(st);
            c.pin();
            held[count++] = c;
        }

        @Override
        public void close() {
            for (int k = 0; k < count; k++) {
                if (held[k].unpin()) {
                    recycle(held[k]);
                }
            }
            count = 0;
        }
    }

    private Pins pin(Operand... ops) {
        return new Pins(ops, null);
    }

    private Pins pin(Storage... storages) {
        return new Pins(null, storages);
    }

    @Override
    public synchronized void trim() {
        for (ArrayDeque<CpuStorage> q : cache.values()) {
            for (CpuStorage s : q) {
                s.deallocate();
            }
        }
        cache.clear();
        reservedBytes = 0;
    }

    @Override
    public synchronized MemoryStats memory() {
        return new MemoryStats(liveBytes, reservedBytes, allocations);
    }

    /** The storage in plain order, as every Java kernel, read and write expects it. */
    private static CpuStorage cpu(Storage s) {
        CpuStorage c = raw(s);
        c.ensurePlain();
        return c;
    }

    /** The storage as it is, possibly in a blocked oneDNN layout. */
    private static CpuStorage raw(Storage s) {
        if (s instanceof CpuStorage c) {
            if (!c.inUse) {
                throw new IllegalStateException("cpu backend: storage used after it was freed");
            }
            return c;
        }
        throw new IllegalArgumentException("cpu backend: storage " + s + " belongs to another backend");
    }

    @Override
    public void write(Storage dst, int offset, float[] src, int srcOffset, int length) {
        try (Pins pins = pin(dst)) {
            cpu(dst).f.put(offset, src, srcOffset, length);
        }
    }

    @Override
    public void read(Storage src, int offset, float[] dst, int dstOffset, int length) {
        try (Pins pins = pin(src)) {
            cpu(src).f.get(offset, dst, dstOffset, length);
        }
    }

    @Override
    public void writeInts(Storage dst, int offset, int[] src, int srcOffset, int length) {
        try (Pins pins = pin(dst)) {
            cpu(dst).i.put(offset, src, srcOffset, length);
        }
    }

    @Override
    public void readInts(Storage src, int offset, int[] dst, int dstOffset, int length) {
        try (Pins pins = pin(src)) {
            cpu(src).i.get(offset, dst, dstOffset, length);
        }
    }

    // ------------------------------------------------------------------ tiles and strided iteration

    /** Elements per heap tile: four tiles per thread stay in L1/L2. */
    static final int TILE = 2048;

    /** Per-thread heap tiles that kernels run on. */
    static final class Scratch {
        final float[] a = new float[TILE];
        final float[] b = new float[TILE];
        final float[] c = new float[TILE];
        final float[] d = new float[TILE];
        final int[] idx = new int[TILE];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Copies {@code n} elements at {@code off + k * stride} into {@code dst}. */
    static void load(FloatBuffer src, int off, int stride, float[] dst, int n) {
        if (stride == 1) {
            src.get(off, dst, 0, n);
        } else if (stride == 0) {
            Arrays.fill(dst, 0, n, src.get(off));
        } else {
            for (int k = 0; k < n; k++) {
                dst[k] = src.get(off + k * stride);
            }
        }
    }

    /** Copies {@code n} elements of {@code src} to {@code off + k * stride}. */
    static void store(float[] src, FloatBuffer dst, int off, int stride, int n) {
        if (stride == 1) {
            dst.put(off, src, 0, n);
        } else {
            for (int k = 0; k < n; k++) {
                dst.put(off + k * stride, src[k]);
            }
        }
    }

    /** Visits the rows (last axis) of up to three equally shaped layouts. */
    @FunctionalInterface
    private interface RowBody {
        void row(Scratch sc, int o0, int o1, int o2, int len);
    }

    /**
     * Calls {@code body} once per innermost row with each layout's starting offset; contiguous layouts collapse
     * to one long row, split over threads.
     */
    private void forEachRow(Layout l0, Layout l1, Layout l2, RowBody body) {
        int n = l0.numel();
        if (n == 0) {
            return;
        }
        boolean contiguous =
                l0.isContiguous() && (l1 == null || l1.isContiguous()) && (l2 == null || l2.isContiguous());
        if (contiguous) {
            int b0 = l0.offset();
            int b1 = l1 == null ? 0 : l1.offset();
            int b2 = l2 == null ? 0 : l2.offset();
            parallel.forRange(n, 1, (from, to) -> body.row(SCRATCH.get(), b0 + from, b1 + from, b2 + from, to - from));
            return;
        }
        int[] shape = l0.shape();
        int r = shape.length;
        int len = shape[r - 1];
        int rows = n / len;
        int[] s0 = l0.strides();
        int[] s1 = l1 == null ? new int[r] : l1.strides();
        int[] s2 = l2 == null ? new int[r] : l2.strides();
        int o0 = l0.offset();
        int o1 = l1 == null ? 0 : l1.offset();
        int o2 = l2 == null ? 0 : l2.offset();
        parallel.forRange(rows, len, (from, to) -> {
            Scratch sc = SCRATCH.get();
            int[] idx = new int[r - 1];
            int rem = from;
            for (int d = r - 2; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            int a = o0;
            int b = o1;
            int c = o2;
            for (int d = 0; d < r - 1; d++) {
                a += idx[d] * s0[d];
                b += idx[d] * s1[d];
                c += idx[d] * s2[d];
            }
            for (int row = from; row < to; row++) {
                body.row(sc, a, b, c, len);
                for (int d = r - 2; d >= 0; d--) {
                    idx[d]++;
                    a += s0[d];
                    b += s1[d];
                    c += s2[d];
                    if (idx[d] < shape[d]) {
                        break;
                    }
                    a -= s0[d] * shape[d];
                    b -= s1[d] * shape[d];
                    c -= s2[d] * shape[d];
                    idx[d] = 0;
                }
            }
        });
    }

    private static int lastStride(Layout l) {
        return l.rank() == 0 || l.isContiguous() ? 1 : l.strides()[l.rank() - 1];
    }

    private static Layout atLeast1d(Layout l) {
        return l.rank() > 0 ? l : new Layout(new int[] {1}, new int[] {1}, l.offset());
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public void fill(Operand dst, float value) {
        try (Pins pins = pin(dst)) {
            CpuStorage d = cpu(dst.storage());
            Layout l = atLeast1d(dst.layout());
            int st = lastStride(l);
            if (d.dtype() == DType.INT32) {
                IntBuffer o = d.i;
                int v = (int) value;
                forEachRow(l, null, null, (sc, a, b, c, len) -> {
                    for (int k = 0; k < len; k++) {
                        o.put(a + k * st, v);
                    }
                });
                return;
            }
            FloatBuffer o = d.f;
            forEachRow(l, null, null, (sc, a, b, c, len) -> {
                Arrays.fill(sc.a, value);
                for (int t = 0; t < len; t += TILE) {
                    store(sc.a, o, a + t * st, st, Math.min(TILE, len - t));
                }
            });
        }
    }

    @Override
    public void unary(UnaryOp op, float s, Operand xo, Operand outo) {
        try (Pins pins = pin(xo, outo)) {
            Storage x = xo.storage();
            Layout xLayout = xo.layout();
            Storage out = outo.storage();
            Layout outLayout = outo.layout();
            DnnlLayout kept = keptLayout(x, xLayout, x, xLayout, out, outLayout);
            CpuStorage xs = inKept(x, kept);
            CpuStorage os = inKept(out, kept);
            Layout xl = atLeast1d(xLayout);
            Layout ol = atLeast1d(outLayout);
            int sx = lastStride(xl);
            int so = lastStride(ol);
            if (xs.dtype() == DType.INT32 || os.dtype() == DType.INT32) {
                if (op != UnaryOp.IDENTITY) {
                    throw new IllegalArgumentException("cpu backend: " + op + " is only defined on FLOAT32");
                }
                convert(xs, xl, sx, os, ol, so);
                return;
            }
            FloatBuffer in = xs.f;
            FloatBuffer o = os.f;
            forEachRow(xl, ol, null, (sc, a, b, c, len) -> {
                for (int t = 0; t < len; t += TILE) {
                    int m = Math.min(TILE, len - t);
                    load(in, a + t * sx, sx, sc.a, m);
                    Kernels.unary(op, s, sc.a, sc.b, m);
                    store(sc.b, o, b + t * so, so, m);
                }
            });
            os.setLayout(kept);
        }
    }

    /**
     * The blocked layout that an elementwise op may run in as is: all operands float, whole storages of one
     * shape, the inputs in the same blocked layout. Null otherwise (the op then runs on plain data).
     */
    private static DnnlLayout keptLayout(Storage a, Layout al, Storage b, Layout bl, Storage out, Layout ol) {
        CpuStorage ra = raw(a);
        DnnlLayout l = ra.layout();
        if (l == null
                || raw(b).layout() != l
                || ra.dtype() != DType.FLOAT32
                || raw(b).dtype() != DType.FLOAT32
                || raw(out).dtype() != DType.FLOAT32) {
            return null;
        }
        return whole(a, al) && whole(b, bl) && whole(out, ol) ? l : null;
    }

    /**
     * {@code out = a op b[channel]} where {@code a} is a whole activation a oneDNN op left in {@code nChw<B>c} and
     * {@code b} is broadcast per channel ({@code [C]} seen as {@code [N, C, H, W]} with strides {@code 0, s, 0, 0}),
     * as eval-mode batch norm and bias adds compute: run in the blocked layout, which stays on the output, instead
     * of reordering the activation to plain and taking the strided broadcast path (measured: most of {@code bn-cnn}'s
     * inference time). False, doing nothing, when the operands are not of that form.
     */
    private boolean perChannelOnBlocked(
            BinaryOp op, Storage a, Layout al, Storage b, Layout bl, Storage out, Layout ol) {
        if (op != BinaryOp.ADD && op != BinaryOp.SUB && op != BinaryOp.MUL && op != BinaryOp.DIV) {
            return false;
        }
        CpuStorage ra = raw(a);
        DnnlLayout l = ra.layout();
        if (l == null
                || l.channelBlock == 0
                || ra.dtype() != DType.FLOAT32
                || !whole(a, al)
                || !whole(out, ol)
                || raw(out).dtype() != DType.FLOAT32
                || raw(b).dtype() != DType.FLOAT32
                || bl.shape().length != 4) {
            return false;
        }
        int[] shape = al.shape();
        int[] bs = bl.strides();
        for (int d = 0; d < 4; d++) {
            if (shape[d] != l.dims[d] || bl.shape()[d] != shape[d] || ol.shape()[d] != shape[d]) {
                return false;
            }
        }
        if (bs[0] != 0 || bs[2] != 0 || bs[3] != 0 || a == b || out == b) {
            return false;
        }
        int n = shape[0];
        int c = shape[1];
        int hw = shape[2] * shape[3];
        int block = l.channelBlock;
        int blocks = c / block;
        CpuStorage rb = cpu(b);
        float[] per = new float[c];
        for (int ch = 0; ch < c; ch++) {
            per[ch] = rb.f.get(bl.offset() + ch * bs[1]);
        }
        CpuStorage ro = raw(out);
        parallel.forRange(n * blocks, (long) hw * block, (from, to) -> {
            float[] buf = new float[hw * block];
            float[] v = new float[block];
            for (int nb = from; nb < to; nb++) {
                int base = nb * hw * block;
                ra.f.get(base, buf, 0, hw * block);
                System.arraycopy(per, (nb % blocks) * block, v, 0, block);
                Kernels.binaryRepeating(op, buf, v, hw * block);
                ro.f.put(base, buf, 0, hw * block);
            }
        });
        ro.setLayout(l);
        return true;
    }

    /** An elementwise operand: as it is when the op runs in the {@code kept} layout, else in plain order. */
    private static CpuStorage inKept(Storage s, DnnlLayout kept) {
        return kept != null ? raw(s) : cpu(s);
    }

    private static boolean whole(Storage s, Layout l) {
        return l.offset() == 0 && l.numel() == s.numel() && l.isContiguous();
    }

    private void convert(CpuStorage xs, Layout xl, int sx, CpuStorage os, Layout ol, int so) {
        forEachRow(xl, ol, null, (sc, a, b, c, len) -> {
            for (int k = 0; k < len; k++) {
                int ia = a + k * sx;
                int ib = b + k * so;
                if (xs.dtype() == DType.INT32 && os.dtype() == DType.INT32) {
                    os.i.put(ib, xs.i.get(ia));
                } else if (xs.dtype() == DType.INT32) {
                    os.f.put(ib, xs.i.get(ia));
                } else {
                    os.i.put(ib, (int) xs.f.get(ia));
                }
            }
        });
    }

    @Override
    public void binary(BinaryOp op, Operand ao, Operand bo, Operand outo) {
        try (Pins pins = pin(ao, bo, outo)) {
            Storage a = ao.storage();
            Layout aLayout = ao.layout();
            Storage b = bo.storage();
            Layout bLayout = bo.layout();
            Storage out = outo.storage();
            Layout outLayout = outo.layout();
            if (perChannelOnBlocked(op, a, aLayout, b, bLayout, out, outLayout)) {
                return;
            }
            DnnlLayout kept = keptLayout(a, aLayout, b, bLayout, out, outLayout);
            if (op == BinaryOp.RELU_GRAD
                    && dnnlEltwise != null
                    && aLayout.numel() >= DnnlEltwise.MIN_ELEMENTS
                    && aLayout.isContiguous()
                    && bLayout.isContiguous()
                    && outLayout.isContiguous()) {
                CpuStorage ro = inKept(out, kept);
                dnnlEltwise.reluBackward(
                        inKept(a, kept),
                        aLayout.offset(),
                        inKept(b, kept),
                        bLayout.offset(),
                        ro,
                        outLayout.offset(),
                        aLayout.numel());
                ro.setLayout(kept);
                return;
            }
            if (kept == null && rowBroadcast(op, a, aLayout, b, bLayout, out, outLayout)) {
                return;
            }
            CpuStorage ro = inKept(out, kept);
            FloatBuffer fa = inKept(a, kept).f;
            FloatBuffer fb = inKept(b, kept).f;
            FloatBuffer fo = ro.f;
            Layout al = atLeast1d(aLayout);
            Layout bl = atLeast1d(bLayout);
            Layout ol = atLeast1d(outLayout);
            int sa = lastStride(al);
            int sb = lastStride(bl);
            int so = lastStride(ol);
            forEachRow(al, bl, ol, (sc, oa, ob, oo, len) -> {
                for (int t = 0; t < len; t += TILE) {
                    int m = Math.min(TILE, len - t);
                    load(fa, oa + t * sa, sa, sc.a, m);
                    load(fb, ob + t * sb, sb, sc.b, m);
                    Kernels.binary(op, sc.a, sc.b, sc.c, m);
                    store(sc.c, fo, oo + t * so, so, m);
                }
            });
            ro.setLayout(kept);
        }
    }

    /**
     * {@code op} of a contiguous operand and one row broadcast over all its rows (a bias: strides 0 but the last),
     * many short rows per tile. Why: row by row, a {@code [1000, 10]} bias add cost 40 us against 5 us for a
     * same-shape add (three buffer copies per 10-element row); here the broadcast row is tiled once per thread.
     * False when the operands are not of that form (nothing done then).
     */
    private boolean rowBroadcast(BinaryOp op, Storage a, Layout al, Storage b, Layout bl, Storage out, Layout ol) {
        int r = ol.rank();
        if (r < 2 || !ol.isContiguous()) {
            return false;
        }
        boolean aIsRow = isBroadcastRow(al);
        boolean bIsRow = isBroadcastRow(bl);
        if (aIsRow == bIsRow || !(aIsRow ? bl : al).isContiguous()) {
            return false;
        }
        int len = ol.shape()[r - 1];
        int rows = ol.numel() / Math.max(1, len);
        if (len == 0 || len > TILE / 4 || rows < 2) {
            return false;
        }
        FloatBuffer row = cpu(aIsRow ? a : b).f;
        int rowOffset = (aIsRow ? al : bl).offset();
        FloatBuffer full = cpu(aIsRow ? b : a).f;
        int fullOffset = (aIsRow ? bl : al).offset();
        FloatBuffer fo = cpu(out).f;
        int outOffset = ol.offset();
        int per = TILE / len;
        parallel.forRange(rows, len, (from, to) -> {
            Scratch sc = SCRATCH.get();
            float[] tiled = aIsRow ? sc.a : sc.b;
            float[] data = aIsRow ? sc.b : sc.a;
            row.get(rowOffset, tiled, 0, len);
            for (int k = 1; k < per; k++) {
                System.arraycopy(tiled, 0, tiled, k * len, len);
            }
            for (int r0 = from; r0 < to; r0 += per) {
                int m = Math.min(per, to - r0) * len;
                full.get(fullOffset + r0 * len, data, 0, m);
                Kernels.binary(op, sc.a, sc.b, sc.c, m);
                fo.put(outOffset + r0 * len, sc.c, 0, m);
            }
        });
        return true;
    }

    /** A row repeated over every leading axis: strides 0 except a last stride of 1. */
    private static boolean isBroadcastRow(Layout l) {
        int[] st = l.strides();
        int r = l.rank();
        if (r < 2 || st[r - 1] != 1) {
            return false;
        }
        for (int d = 0; d < r - 1; d++) {
            if (st[d] != 0 && l.shape()[d] != 1) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public void reduce(ReduceOp op, Operand xo, int axis, Operand outo) {
        try (Pins pins = pin(xo, outo)) {
            Layout xLayout = xo.layout();
            int outOffset = outo.layout().offset();
            CpuStorage xs = cpu(xo.storage());
            CpuStorage os = cpu(outo.storage());
            int[] shape = xLayout.shape();
            int outer = xLayout.outer(axis);
            int len = shape[axis];
            int inner = xLayout.inner(axis);
            final int innerF = inner;
            FloatBuffer in = xs.f;
            int base = xLayout.offset();
            if (inner == 1 && len > 0 && len <= TILE / 4) {
                // Short rows (a batch's logits): many rows per buffer copy, not one copy per row.
                int per = TILE / len;
                parallel.forRange(outer, len, (from, to) -> {
                    Scratch sc = SCRATCH.get();
                    for (int o0 = from; o0 < to; o0 += per) {
                        int rows = Math.min(per, to - o0);
                        in.get(base + o0 * len, sc.a, 0, rows * len);
                        for (int r = 0; r < rows; r++) {
                            reduceSpan(op, sc.a, r * len, len, os, outOffset + o0 + r);
                        }
                    }
                });
                return;
            }
            if (inner == 1) {
                parallel.forRange(outer, len, (from, to) -> {
                    Scratch sc = SCRATCH.get();
                    for (int o = from; o < to; o++) {
                        reduceRow(op, in, base + o * len, len, os, outOffset + o, sc);
                    }
                });
                return;
            }
            parallel.forRange(outer, (long) len * inner, (from, to) -> {
                Scratch sc = SCRATCH.get();
                for (int o = from; o < to; o++) {
                    for (int j = 0; j < innerF; j += TILE) {
                        int m = Math.min(TILE, innerF - j);
                        reduceColumns(
                                op,
                                in,
                                base + o * len * innerF + j,
                                len,
                                innerF,
                                m,
                                os,
                                outOffset + o * innerF + j,
                                sc);
                    }
                }
            });
        }
    }

    /** Sum, or a maximum (ARGMAX keeps where): a switch expression, so a new op does not compile until handled. */
    private static boolean isSum(ReduceOp op) {
        return switch (op) {
            case SUM -> true;
            case MAX, ARGMAX -> false;
        };
    }

    /** {@link #reduceRow} of {@code a[from, from + n)}, already in a Java array. */
    private static void reduceSpan(ReduceOp op, float[] a, int from, int n, CpuStorage out, int oo) {
        if (isSum(op)) {
            float acc = 0f;
            for (int k = from; k < from + n; k++) {
                acc += a[k];
            }
            out.f.put(oo, acc);
            return;
        }
        float acc = a[from];
        int best = 0;
        for (int k = 1; k < n && acc == acc; k++) {
            float v = a[from + k];
            // NaN wins and stops the scan (acc != acc then): max is NaN, argmax the first NaN, as in PyTorch.
            if (v > acc || v != v) {
                acc = v;
                best = k;
            }
        }
        if (op == ReduceOp.ARGMAX) {
            out.i.put(oo, best);
        } else {
            out.f.put(oo, acc);
        }
    }

    /** Reduces {@code n} contiguous elements into {@code out[oo]}. */
    private static void reduceRow(ReduceOp op, FloatBuffer x, int xo, int n, CpuStorage out, int oo, Scratch sc) {
        boolean sum = isSum(op);
        float acc = sum ? 0f : x.get(xo);
        int best = 0;
        for (int t = 0; t < n; t += TILE) {
            int m = Math.min(TILE, n - t);
            x.get(xo + t, sc.a, 0, m);
            float[] a = sc.a;
            if (sum) {
                for (int k = 0; k < m; k++) {
                    acc += a[k];
                }
            } else {
                for (int k = 0; k < m && acc == acc; k++) {
                    // NaN wins and is kept (acc != acc ends the loop): PyTorch's max and argmax propagate NaN.
                    if (a[k] > acc || a[k] != a[k]) {
                        acc = a[k];
                        best = t + k;
                    }
                }
            }
        }
        if (op == ReduceOp.ARGMAX) {
            out.i.put(oo, best);
        } else {
            out.f.put(oo, acc);
        }
    }

    /** Reduces the rows of a {@code [n, stride]} block, columns {@code [0, m)}, into {@code m} outputs. */
    private static void reduceColumns(
            ReduceOp op, FloatBuffer x, int xo, int n, int stride, int m, CpuStorage out, int oo, Scratch sc) {
        boolean sum = isSum(op);
        float[] acc = sc.b;
        int[] best = sc.idx;
        x.get(xo, acc, 0, m);
        Arrays.fill(best, 0, m, 0);
        for (int k = 1; k < n; k++) {
            float[] row = sc.a;
            x.get(xo + k * stride, row, 0, m);
            if (sum) {
                for (int j = 0; j < m; j++) {
                    acc[j] += row[j];
                }
            } else {
                for (int j = 0; j < m; j++) {
                    // A NaN already held stays (the first NaN wins); a new NaN replaces a number, as in PyTorch.
                    if ((row[j] > acc[j] || row[j] != row[j]) && acc[j] == acc[j]) {
                        acc[j] = row[j];
                        best[j] = k;
                    }
                }
            }
        }
        if (op == ReduceOp.ARGMAX) {
            out.i.put(oo, best, 0, m);
        } else {
            out.f.put(oo, acc, 0, m);
        }
    }

    // ------------------------------------------------------------------ GEMM

    /** How one matrix operand is handed to BLAS: transposed or not, and its leading dimension. */
    private record GemmArg(boolean trans, int ld) {}

    /** BLAS view of a {@code rows x cols} matrix with strides {@code rs, cs}, or null if it needs a copy. */
    private static GemmArg gemmArg(int rows, int cols, int rs, int cs) {
        if ((cols == 1 || cs == 1) && (rows == 1 || rs >= Math.max(1, cols))) {
            return new GemmArg(false, rows == 1 ? Math.max(1, cols) : rs);
        }
        if ((rows == 1 || rs == 1) && (cols == 1 || cs >= Math.max(1, rows))) {
            return new GemmArg(true, cols == 1 ? Math.max(1, rows) : cs);
        }
        return null;
    }

    @Override
    public void matmul(Operand ao, Operand bo, Operand outo) {
        try (Pins pins = pin(ao, bo, outo)) {
            Layout aLayout = ao.layout();
            Layout bLayout = bo.layout();
            Layout outLayout = outo.layout();
            CpuStorage as = cpu(ao.storage());
            CpuStorage bs = cpu(bo.storage());
            CpuStorage os = cpu(outo.storage());
            int r = aLayout.rank();
            int m = aLayout.shape()[r - 2];
            int k = aLayout.shape()[r - 1];
            int n = bLayout.shape()[r - 1];
            int batch = 1;
            for (int d = 0; d < r - 2; d++) {
                batch *= aLayout.shape()[d];
            }
            GemmArg oa = gemmArg(m, k, aLayout.strides()[r - 2], aLayout.strides()[r - 1]);
            GemmArg ob = gemmArg(k, n, bLayout.strides()[r - 2], bLayout.strides()[r - 1]);
            CpuStorage tmpA = null;
            CpuStorage tmpB = null;
            Layout al = aLayout;
            Layout bl = bLayout;
            try {
                if (oa == null) {
                    tmpA = (CpuStorage) allocate(DType.FLOAT32, batch * m * k);
                    al = copyContiguous(as, aLayout, tmpA);
                    as = tmpA;
                    oa = new GemmArg(false, Math.max(1, k));
                }
                if (ob == null) {
                    tmpB = (CpuStorage) allocate(DType.FLOAT32, batch * k * n);
                    bl = copyContiguous(bs, bLayout, tmpB);
                    bs = tmpB;
                    ob = new GemmArg(false, Math.max(1, n));
                }
                int outBase = outLayout.offset();
                FloatPointer pa = new FloatPointer(as.floats);
                FloatPointer pb = new FloatPointer(bs.floats);
                FloatPointer pc = new FloatPointer(os.floats);
                int[] idx = new int[Math.max(0, r - 2)];
                for (int bi = 0; bi < batch; bi++) {
                    int offA = al.offset();
                    int offB = bl.offset();
                    for (int d = 0; d < r - 2; d++) {
                        offA += idx[d] * al.strides()[d];
                        offB += idx[d] * bl.strides()[d];
                    }
                    int offC = outBase + bi * m * n;
                    if (k == 0) {
                        for (int i = 0; i < m * n; i++) {
                            os.f.put(offC + i, 0f);
                        }
                    } else if (m > 0
                            && n > 0
                            && batch == 1
                            && offA == 0
                            && offB == 0
                            && offC == 0
                            && matmulOnDnnl(m, n, k, oa.trans)) {
                        dnnlMatmul.run(as, oa.trans, oa.ld, bs, ob.trans, ob.ld, os, m, n, k);
                    } else if (m > 0 && n > 0) {
                        cblas_sgemm(
                                CblasRowMajor,
                                oa.trans ? CblasTrans : CblasNoTrans,
                                ob.trans ? CblasTrans : CblasNoTrans,
                                m,
                                n,
                                k,
                                1f,
                                pa.position(offA),
                                oa.ld,
                                pb.position(offB),
                                ob.ld,
                                0f,
                                pc.position(offC),
                                Math.max(1, n));
                    }
                    for (int d = r - 3; d >= 0; d--) {
                        if (++idx[d] < al.shape()[d]) {
                            break;
                        }
                        idx[d] = 0;
                    }
                }
            } finally {
                if (tmpA != null) {
                    free(tmpA);
                }
                if (tmpB != null) {
                    free(tmpB);
                }
            }
        }
    }

    /**
     * Whether an {@code [m, k] x [k, n]} product goes to oneDNN ({@link DnnlMatmul} says why): a batch of at least
     * {@link #DNNL_MATMUL_MIN_ROWS} rows of activations times a matrix (a Dense layer's forward over an inference
     * batch; {@code a} not a transposed view, which is how a weight's gradient takes its operands), or, from the
     * first oneDNN convolution on, any product of at least {@link #DNNL_MATMUL_MIN_MACS} multiply-adds; with
     * {@code -Dgradus.dnnl.matmul=always|never} every product or none (the default is {@code auto}).
     */
    private boolean matmulOnDnnl(int m, int n, int k, boolean aTransposed) {
        if (dnnlMatmul == null) {
            return false;
        }
        if (MATMUL_ON_DNNL != null) {
            return MATMUL_ON_DNNL;
        }
        return matmulsAlwaysOnDnnl
                || (m >= DNNL_MATMUL_MIN_ROWS && !aTransposed)
                || (convolutionsOnDnnl && (long) m * n * k >= DNNL_MATMUL_MIN_MACS);
    }

    /**
     * From this many rows a forward product goes to oneDNN in any model: the MLPs' test-set passes in batches of
     * 1000 ran faster with their products on oneDNN in every one of five alternated pairs ({@code mlp} 1.0-1.3M
     * against 0.57-1.0M images/s), while their training batches (128 and 32 rows) are faster on OpenBLAS.
     */
    static final int DNNL_MATMUL_MIN_ROWS = 512;

    /**
     * Below this a product stays on OpenBLAS even in a CNN: oneDNN's call costs more than the switch between runtimes
     * ({@code bn-cnn}'s {@code [128, 256] x [256, 10]} took 0.14 ms on oneDNN against 0.05 ms, its
     * {@code [128, 1568] x [1568, 256]} 1.4 against 2.8 ms in a training step).
     */
    static final long DNNL_MATMUL_MIN_MACS = 1L << 23;

    /** Set by {@link #withMatmulsOnDnnl}: every product on oneDNN, for the conformance suite. */
    private boolean matmulsAlwaysOnDnnl;

    private static final Boolean MATMUL_ON_DNNL = switch (System.getProperty("gradus.dnnl.matmul", "auto")) {
        case "always" -> Boolean.TRUE;
        case "never" -> Boolean.FALSE;
        default -> null;
    };

    /** Set by the first convolution oneDNN runs. */
    private volatile boolean convolutionsOnDnnl;

    private Layout copyContiguous(CpuStorage src, Layout l, CpuStorage dst) {
        Layout c = Layout.contiguous(l.shape());
        unary(UnaryOp.IDENTITY, 0f, new Operand(src, l), new Operand(dst, c));
        return c;
    }

    /** Raw {@code C = A x B} on row-major buffers with no checks: the baseline benchmarks compare against. */
    public void rawSgemm(Storage a, Storage b, Storage c, int m, int n, int k) {
        cblas_sgemm(
                CblasRowMajor,
                CblasNoTrans,
                CblasNoTrans,
                m,
                n,
                k,
                1f,
                cpu(a).floats,
                k,
                cpu(b).floats,
                n,
                0f,
                cpu(c).floats,
                n);
    }

    /**
     * The same product as {@link #rawSgemm} through oneDNN's matmul primitive, for {@code MatmulBenchmark}'s
     * comparison; false when oneDNN is not loaded.
     */
    public boolean rawDnnlMatmul(Storage a, Storage b, Storage c, int m, int n, int k) {
        if (dnnlMatmul == null) {
            return false;
        }
        dnnlMatmul.run(cpu(a), cpu(b), cpu(c), m, n, k);
        return true;
    }

    // ------------------------------------------------------------------ softmax, one-hot, optimizers

    @Override
    public void logSoftmax(Operand x, Operand out) {
        try (Pins pins = pin(x, out)) {
            Operand.requireDense("logSoftmax", x, out);
            int[] shape = x.shape();
            int cols = shape.length == 0 ? 1 : shape[shape.length - 1];
            int rows = cols == 0 ? 0 : x.numel() / cols;
            FloatBuffer in = cpu(x.storage()).f;
            FloatBuffer o = cpu(out.storage()).f;
            int xOffset = 0;
            int outOffset = 0;
            if (cols > TILE) {
                float[] row = new float[cols];
                float[] res = new float[cols];
                for (int r = 0; r < rows; r++) {
                    in.get(xOffset + r * cols, row, 0, cols);
                    Kernels.logSoftmaxRow(row, res, cols);
                    o.put(outOffset + r * cols, res, 0, cols);
                }
                return;
            }
            parallel.forRange(rows, cols * 3L, (from, to) -> {
                Scratch sc = SCRATCH.get();
                for (int r = from; r < to; r++) {
                    in.get(xOffset + r * cols, sc.a, 0, cols);
                    Kernels.logSoftmaxRow(sc.a, sc.b, cols);
                    o.put(outOffset + r * cols, sc.b, 0, cols);
                }
            });
        }
    }

    @Override
    public void oneHot(Operand labels, Operand out) {
        try (Pins pins = pin(labels, out)) {
            Operand.requireDense("oneHot", labels, out);
            int n = out.shape()[0];
            int classes = out.shape()[1];
            int offset = 0;
            IntBuffer lab = cpu(labels.storage()).i;
            FloatBuffer o = cpu(out.storage()).f;
            for (int r = 0; r < n; r++) {
                int y = lab.get(offset + r);
                if (y < 0 || y >= classes) {
                    throw new IllegalArgumentException(
                            "label " + y + " at index " + r + " is outside [0, " + classes + ")");
                }
            }
            for (int r = 0; r < n; r++) {
                int y = lab.get(offset + r);
                int base = r * classes;
                for (int c = 0; c < classes; c++) {
                    o.put(base + c, c == y ? 1f : 0f);
                }
            }
        }
    }

    @Override
    public void channelAffine(Operand x, Operand scale, Operand shift, Operand out) {
        try (Pins pins = pin(x, scale, shift, out)) {
            BatchNormDims d = BatchNormDims.of("channelAffine", x, scale, shift, out);
            int n = d.n();
            int c = d.c();
            int hw = d.hw();
            float[] s = new float[c];
            float[] t = new float[c];
            cpu(scale.storage()).f.get(0, s, 0, c);
            cpu(shift.storage()).f.get(0, t, 0, c);
            CpuStorage rx = raw(x.storage());
            DnnlLayout l = rx.layout();
            CpuStorage ro = raw(out.storage());
            // Blocked (a oneDNN op's output): runs of `block` channels per pixel, kept blocked in out; else plain
            // planes.
            boolean blocked =
                    l != null && l.channelBlock > 1 && c % l.channelBlock == 0 && whole(x.storage(), x.layout());
            int block = blocked ? l.channelBlock : 1;
            CpuStorage src = blocked ? rx : cpu(x.storage());
            // Scale and shift spread to one image's elements in the data's order, so the loop below reads every array
            // at the same index (C2 vectorises that; a per-channel scalar or a block-periodic index ran 2-3x slower).
            int per = c * hw;
            float[] vs = new float[per];
            float[] vt = new float[per];
            for (int k = 0; k < per; k++) {
                int ch = blocked ? (k / (hw * block)) * block + k % block : k / hw;
                vs[k] = s[ch];
                vt[k] = t[ch];
            }
            parallel.forRange(n, (long) per * 2, (from, to) -> {
                float[] buf = new float[per];
                for (int i = from; i < to; i++) {
                    src.f.get(i * per, buf, 0, per);
                    Kernels.affine(buf, vs, vt, per);
                    ro.f.put(i * per, buf, 0, per);
                }
            });
            ro.setLayout(block > 1 ? l : null);
        }
    }

    @Override
    public void index(IndexOp op, int axis, Operand x, Operand index, Operand out) {
        try (Pins pins = pin(x, index, out)) {
            Layout il = index.layout();
            boolean gather = op == IndexOp.GATHER;
            Layout addressed = gather ? x.layout() : out.layout();
            Layout walked = gather ? out.layout() : x.layout();
            IntBuffer idx = cpu(index.storage()).i;
            FloatBuffer xf = cpu(x.storage()).f;
            FloatBuffer of = cpu(out.storage()).f;
            op.check(axis, il, idx::get, addressed.shape()[axis]); // before anything is written
            int[] c = new int[il.rank()];
            for (int i = 0, n = il.numel(); i < n; i++, Layout.next(c, il.shape())) {
                int k = idx.get(il.offsetOf(c));
                int at = addressed.offsetOf(c) + (k - c[axis]) * addressed.strides()[axis];
                int w = walked.offsetOf(c);
                if (gather) {
                    of.put(w, xf.get(at));
                } else {
                    of.put(at, of.get(at) + xf.get(w));
                }
            }
        }
    }

    @Override
    public void adamStep(Operand param, Operand grad, Operand m, Operand v, AdamStep h) {
        try (Pins pins = pin(param, grad, m, v)) {
            int n = Operand.requireDenseSameSize("adamStep", param, grad, m, v);
            FloatBuffer p = cpu(param.storage()).f;
            FloatBuffer g = cpu(grad.storage()).f;
            FloatBuffer fm = cpu(m.storage()).f;
            FloatBuffer fv = cpu(v.storage()).f;
            float stepSize = h.stepSize();
            float invSqrtBc2 = h.invSqrtBiasCorrection2();
            float decay = h.weightFactor();
            float l2 = h.l2();
            parallel.forRange(n, 8, (from, to) -> {
                Scratch sc = SCRATCH.get();
                for (int t = from; t < to; t += TILE) {
                    int k = Math.min(TILE, to - t);
                    p.get(t, sc.a, 0, k);
                    g.get(t, sc.b, 0, k);
                    fm.get(t, sc.c, 0, k);
                    fv.get(t, sc.d, 0, k);
                    Kernels.adam(
                            sc.a, sc.b, sc.c, sc.d, k, decay, l2, h.beta1(), h.beta2(), stepSize, invSqrtBc2, h.eps());
                    p.put(t, sc.a, 0, k);
                    fm.put(t, sc.c, 0, k);
                    fv.put(t, sc.d, 0, k);
                }
            });
        }
    }

    @Override
    public void sgdStep(Operand param, Operand grad, Operand momentumBuf, SgdStep h) {
        try (Pins pins = pin(param, grad, momentumBuf)) {
            int n = Operand.requireDenseSameSize("sgdStep", param, grad, momentumBuf);
            FloatBuffer p = cpu(param.storage()).f;
            FloatBuffer g = cpu(grad.storage()).f;
            FloatBuffer buf = momentumBuf == null ? null : cpu(momentumBuf.storage()).f;
            float lr = h.lr();
            float mu = h.momentum();
            float damp = 1f - h.dampening();
            float wd = h.weightDecay();
            boolean first = h.firstStep();
            boolean nesterov = h.nesterov();
            parallel.forRange(n, 6, (from, to) -> {
                Scratch sc = SCRATCH.get();
                float[] pa = sc.a;
                float[] ga = sc.b;
                float[] ba = sc.c;
                for (int t = from; t < to; t += TILE) {
                    int k = Math.min(TILE, to - t);
                    p.get(t, pa, 0, k);
                    g.get(t, ga, 0, k);
                    if (buf != null) {
                        buf.get(t, ba, 0, k);
                    }
                    for (int i = 0; i < k; i++) {
                        float gi = ga[i] + wd * pa[i];
                        if (buf != null) {
                            float bi = first ? gi : mu * ba[i] + damp * gi;
                            ba[i] = bi;
                            gi = nesterov ? gi + mu * bi : bi;
                        }
                        pa[i] -= lr * gi;
                    }
                    p.put(t, pa, 0, k);
                    if (buf != null) {
                        buf.put(t, ba, 0, k);
                    }
                }
            });
        }
    }

    // ------------------------------------------------------------------ convolution, pooling, batch norm

    private static CpuStorage cpuOrNull(Operand o) {
        return o == null ? null : cpu(o.storage());
    }

    private static CpuStorage raw(Operand o) {
        return o == null ? null : raw(o.storage());
    }

    private static CpuStorage cpu(Operand o) {
        return cpu(o.storage());
    }

    @Override
    public void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p) {
        conv2d(x, w, bias, out, p, UnaryOp.IDENTITY);
    }

    @Override
    public void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p, UnaryOp activation) {
        try (Pins pins = pin(x, w, bias, out)) {
            Operand.requireDense("conv2d", x, w, bias, out);
            boolean relu = activation == UnaryOp.RELU;
            ConvShapes shapes = new ConvShapes(x.shape(), w.shape(), out.shape(), p);
            if (dnnlConv != null && (relu || activation == UnaryOp.IDENTITY)) {
                // oneDNN's ReLU post-op is max(x, 0), which turns NaN into 0 (measured: one NaN weight gave finite
                // logits). With a NaN or an infinity among the inputs (the only way to a NaN output but an
                // overflow to +inf and -inf within one sum) the convolution runs unfused and ReLU in Java keeps NaN.
                boolean finiteInputs = finite(raw(x)) && finite(cpu(w)) && finite(cpuOrNull(bias));
                boolean fuse = relu && finiteInputs;
                if (dnnlConv.forward(shapes, raw(x), cpu(w), cpuOrNull(bias), raw(out), fuse)) {
                    convolutionsOnDnnl = true;
                    if (relu && !fuse) {
                        unary(UnaryOp.RELU, 0f, out, out);
                    } else if (finiteInputs) {
                        raw(out).markFinite();
                    }
                    return;
                }
            }
            if (activation == UnaryOp.IDENTITY) {
                conv.forward(shapes, cpu(x), cpu(w), cpuOrNull(bias), cpu(out));
            } else {
                Backend.super.conv2d(x, w, bias, out, p, activation); // unfused
            }
        }
    }

    @Override
    public void conv2dBackwardData(Operand dOut, Operand w, Operand dx, ConvParams p) {
        try (Pins pins = pin(dOut, w, dx)) {
            Operand.requireDense("conv2dBackwardData", dOut, w, dx);
            ConvShapes shapes = new ConvShapes(dx.shape(), w.shape(), dOut.shape(), p);
            if (dnnlConv == null || !dnnlConv.backwardData(shapes, raw(dOut), cpu(w), raw(dx))) {
                conv.backwardData(shapes, cpu(dOut), cpu(w), cpu(dx));
            }
        }
    }

    @Override
    public void conv2dBackwardFilter(Operand x, Operand dOut, Operand dw, Operand dBias, ConvParams p) {
        try (Pins pins = pin(x, dOut, dw, dBias)) {
            Operand.requireDense("conv2dBackwardFilter", x, dOut, dw, dBias);
            ConvShapes shapes = new ConvShapes(x.shape(), dw.shape(), dOut.shape(), p);
            if (dnnlConv == null || !dnnlConv.backwardWeights(shapes, raw(x), raw(dOut), cpu(dw), cpuOrNull(dBias))) {
                conv.backwardFilter(shapes, cpu(x), cpu(dOut), cpu(dw), cpuOrNull(dBias));
            }
        }
    }

    /**
     * Whether {@code s} (all of its buffer, whatever layout) holds a NaN or an infinity: the largest magnitude's
     * bits, an int max reduction over tiles (one read of the buffer).
     */
    static boolean nonFinite(CpuStorage s) {
        return s != null && maxMagnitudeBits(s) >= 0x7f800000;
    }

    /** True when {@code s} is null, known finite, or scanned and found free of NaN and infinity. */
    private static boolean finite(CpuStorage s) {
        return s == null || s.knownFinite() || !nonFinite(s);
    }

    /** Whether {@code s} holds a NaN (anywhere in its buffer). */
    static boolean hasNaN(CpuStorage s) {
        return maxMagnitudeBits(s) > 0x7f800000;
    }

    private static int maxMagnitudeBits(CpuStorage s) {
        IntBuffer bits = s.i;
        int n = bits.limit();
        int[] tile = SCRATCH.get().idx;
        int m = 0;
        for (int t = 0; t < n; t += TILE) {
            int len = Math.min(TILE, n - t);
            bits.get(t, tile, 0, len);
            for (int k = 0; k < len; k++) {
                m = Math.max(m, tile[k] & 0x7fffffff);
            }
        }
        return m;
    }

    @Override
    public void pool2d(PoolOp op, Operand x, Operand out, Operand argmax, PoolParams p) {
        try (Pins pins = pin(x, out, argmax)) {
            Operand.requireDense("pool2d", x, out, argmax);
            // oneDNN's max pooling never takes a NaN (its compare is false for NaN): measured, a NaN in a window
            // gave the window's largest number. An input holding NaN goes to the Java kernel, where NaN wins.
            if (op == PoolOp.MAX
                    && dnnlPool != null
                    && argmax != null
                    && raw(x).layout() != null
                    && (raw(x).knownFinite() || !hasNaN(raw(x)))
                    && dnnlPool.maxForward(raw(x), x.shape(), raw(out), out.shape(), raw(argmax), p)) {
                if (raw(x).knownFinite()) {
                    raw(out).markFinite();
                }
                return;
            }
            conv.pool(op, cpu(x), x.shape(), cpu(out), out.shape(), cpuOrNull(argmax), p);
        }
    }

    @Override
    public void pool2dBackward(PoolOp op, Operand dOut, Operand argmax, Operand dx, PoolParams p) {
        try (Pins pins = pin(dOut, argmax, dx)) {
            Operand.requireDense("pool2dBackward", dOut, argmax, dx);
            if (op == PoolOp.MAX
                    && dnnlPool != null
                    && argmax != null
                    && dnnlPool.maxBackward(raw(dOut), raw(argmax), raw(dx))) {
                return;
            }
            conv.poolBackward(op, cpu(dOut), dOut.shape(), cpuOrNull(argmax), cpu(dx), dx.shape(), p);
        }
    }

    @Override
    public void batchNormTrain(Operand x, Operand out, BatchNormArgs p) {
        try (Pins pins =
                pin(x, out, p.gamma(), p.beta(), p.runningMean(), p.runningVar(), p.saveMean(), p.saveInvStd())) {
            BnCall b = bnCall(BatchNormDims.of("batchNormTrain", x, p, out), p);
            boolean finiteInput = raw(x).knownFinite();
            if (dnnlBatchNorm != null && dnnlBatchNorm.train(raw(x), raw(out), b)) {
                // Normalised finite values scaled and shifted by finite parameters stay finite: the next max
                // pooling may skip its NaN scan (bn-cnn: Conv+ReLU, BatchNorm, MaxPool).
                if (finiteInput && finite(b.gamma()) && finite(b.beta())) {
                    raw(out).markFinite();
                }
            } else {
                conv.batchNormTrain(cpu(x), cpu(out), b);
            }
        }
    }

    @Override
    public void batchNormBackward(Operand x, Operand dOut, BatchNormArgs p, Operand dx, Operand dGamma, Operand dBeta) {
        try (Pins pins = pin(
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
            BnCall b = bnCall(BatchNormDims.of("batchNormBackward", x, p, dOut, dx, dGamma, dBeta), p);
            CpuStorage dg = cpuOrNull(dGamma);
            CpuStorage db = cpuOrNull(dBeta);
            if (dnnlBatchNorm == null || !dnnlBatchNorm.backward(raw(x), raw(dOut), b, raw(dx), dg, db)) {
                conv.batchNormBackward(cpu(x), cpu(dOut), b, cpu(dx), dg, db);
            }
        }
    }

    private static BnCall bnCall(BatchNormDims d, BatchNormArgs p) {
        return new BnCall(
                d.n(),
                d.c(),
                d.hw(),
                cpuOrNull(p.gamma()),
                cpuOrNull(p.beta()),
                cpuOrNull(p.runningMean()),
                cpuOrNull(p.runningVar()),
                cpuOrNull(p.saveMean()),
                cpuOrNull(p.saveInvStd()),
                p.eps(),
                p.momentum());
    }

    // ------------------------------------------------------------------ diagnostics

    @Override
    public Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("java kernel threads", Integer.toString(parallel.threads()));
        m.putAll(blas.describe());
        m.put("convolution", convolutionPath);
        if (dnnl != null) {
            m.putAll(dnnl.describe());
        }
        return m;
    }

    /** What OpenBLAS reported when it loaded. */
    public OpenBlasInfo openBlas() {
        return blas;
    }
}
