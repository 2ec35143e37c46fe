package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import dev.gradus.DType;
import dev.gradus.backend.cpu.CpuStorage.Plain;
import dev.gradus.spi.ConvParams;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Convolution through im2col and OpenBLAS GEMM over chunks of images (forward, data and filter gradients), on dense
 * NCHW storages in plain order; pooling and batch normalisation in Java are {@link CpuPool} and
 * {@link CpuBatchNorm}.
 *
 * <p>Convolution of a chunk of {@code nb} images: {@code col [C*R*S, nb*P*Q]} holds the receptive fields, one GEMM
 * {@code W [K, C*R*S] x col} gives {@code [K, nb*P*Q]}, and a copy of contiguous rows puts it in NCHW order. The
 * chunk is sized so {@code col} stays near {@link #COL_BUDGET} floats, whatever the batch.
 */
final class CpuConv {
    /** Floats of the im2col buffer per chunk (16 MiB). */
    static final int COL_BUDGET = 1 << 22;

    private final CpuAllocator allocator;
    private final Parallel parallel;

    CpuConv(CpuAllocator allocator, Parallel parallel) {
        this.allocator = allocator;
        this.parallel = parallel;
    }

    /** Shapes and derived sizes of one convolution. */
    private record Geometry(
            int n,
            int c,
            int h,
            int w,
            int k,
            int cg,
            int kg,
            int r,
            int s,
            int p,
            int q,
            int crs,
            int pq,
            int groups,
            int chunk,
            ConvParams params) {
        static Geometry of(ConvShapes shapes) {
            int[] x = shapes.x();
            int[] wt = shapes.w();
            int[] out = shapes.out();
            ConvParams p = shapes.p();
            int groups = p.groups();
            int cg = x[1] / groups;
            int crs = cg * wt[2] * wt[3];
            int pq = out[2] * out[3];
            int chunk = (int) Math.max(1, Math.min(x[0], COL_BUDGET / Math.max(1L, (long) crs * pq)));
            return new Geometry(
                    x[0],
                    x[1],
                    x[2],
                    x[3],
                    wt[0],
                    cg,
                    wt[0] / groups,
                    wt[2],
                    wt[3],
                    out[2],
                    out[3],
                    crs,
                    pq,
                    groups,
                    chunk,
                    p);
        }
    }

    /**
     * A pass's two scratch matrices, freed on close: {@code col [C*R*S, chunk*P*Q]} (receptive fields) and
     * {@code rows [K/groups, chunk*P*Q]} (one group's output rows).
     */
    private final class PassBuffers implements AutoCloseable {
        final Plain col;
        final Plain rows;

        PassBuffers(Geometry g) {
            col = scratch((long) g.crs * g.chunk * g.pq);
            Plain r;
            try {
                r = scratch((long) g.kg * g.chunk * g.pq);
            } catch (RuntimeException e) {
                allocator.free(col.storage);
                throw e;
            }
            rows = r;
        }

        private Plain scratch(long floats) {
            return plain(allocator.allocate(DType.FLOAT32, (int) Math.max(1, floats)));
        }

        @Override
        public void close() {
            allocator.free(col.storage);
            allocator.free(rows.storage);
        }
    }

    /** One group of one chunk of images: {@code nb} images from {@code n0}, group {@code gi}. */
    @FunctionalInterface
    private interface ChunkStep {
        void run(int n0, int nb, int gi);
    }

    /** Runs {@code step} over every chunk of images and, within it, every group, in order. */
    private static void forEachChunk(Geometry g, ChunkStep step) {
        for (int n0 = 0; n0 < g.n; n0 += g.chunk) {
            int nb = Math.min(g.chunk, g.n - n0);
            for (int gi = 0; gi < g.groups; gi++) {
                step.run(n0, nb, gi);
            }
        }
    }

    /**
     * {@code C = op(A) x op(B) + beta * C} through OpenBLAS on dense row-major matrices: {@code op(A)} is
     * {@code [m, k]}, {@code op(B)} is {@code [k, n]}, {@code C} is {@code [m, n]}.
     */
    private static void sgemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            FloatPointer a,
            FloatPointer b,
            float beta,
            FloatPointer c) {
        cblas_sgemm(
                CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans,
                m,
                n,
                k,
                1f,
                a,
                transA ? m : k,
                b,
                transB ? k : n,
                beta,
                c,
                n);
    }

    // ------------------------------------------------------------------ convolution

    void forward(ConvShapes shapes, Plain x, Plain w, Plain bias, Plain out) {
        Geometry g = Geometry.of(shapes);
        float[] b = new float[g.k];
        if (bias != null) {
            bias.f.get(0, b, 0, g.k);
        }
        try (PassBuffers sc = new PassBuffers(g)) {
            forEachChunk(g, (n0, nb, gi) -> {
                int cols = nb * g.pq;
                im2col(x, g, n0, nb, gi, sc.col);
                sgemm(false, false, g.kg, cols, g.crs, weights(w, g, gi), at(sc.col, 0), 0f, at(sc.rows, 0));
                int kBase = gi * g.kg;
                // [Kg, nb*PQ] -> out[n, kBase + k, :], adding the bias on the way
                parallel.forRange(nb, (long) g.kg * g.pq, (from, to) -> {
                    float[] row = new float[g.pq];
                    for (int i = from; i < to; i++) {
                        for (int k = 0; k < g.kg; k++) {
                            sc.rows.f.get(k * cols + i * g.pq, row, 0, g.pq);
                            float bk = b[kBase + k];
                            if (bk != 0f) {
                                for (int j = 0; j < g.pq; j++) {
                                    row[j] += bk;
                                }
                            }
                            out.f.put(((n0 + i) * g.k + kBase + k) * g.pq, row, 0, g.pq);
                        }
                    }
                });
            });
        }
    }

    void backwardData(ConvShapes shapes, Plain dOut, Plain w, Plain dx) {
        Geometry g = Geometry.of(shapes);
        try (PassBuffers sc = new PassBuffers(g)) {
            forEachChunk(g, (n0, nb, gi) -> {
                int cols = nb * g.pq;
                gatherRows(dOut, g, n0, nb, gi, sc.rows);
                sgemm(true, false, g.crs, cols, g.kg, weights(w, g, gi), at(sc.rows, 0), 0f, at(sc.col, 0));
                col2im(sc.col, g, n0, nb, gi, dx);
            });
        }
    }

    void backwardFilter(ConvShapes shapes, Plain x, Plain dOut, Plain dw, Plain dBias) {
        Geometry g = Geometry.of(shapes);
        double[] db = new double[g.k];
        try (PassBuffers sc = new PassBuffers(g)) {
            forEachChunk(g, (n0, nb, gi) -> {
                int cols = nb * g.pq;
                im2col(x, g, n0, nb, gi, sc.col);
                gatherRows(dOut, g, n0, nb, gi, sc.rows);
                float beta = n0 == 0 ? 0f : 1f;
                sgemm(false, true, g.kg, g.crs, cols, at(sc.rows, 0), at(sc.col, 0), beta, weights(dw, g, gi));
                if (dBias != null) {
                    float[] row = buffer(ROW, cols);
                    for (int k = 0; k < g.kg; k++) {
                        sc.rows.f.get(k * cols, row, 0, cols);
                        double acc = 0;
                        for (int j = 0; j < cols; j++) {
                            acc += row[j];
                        }
                        db[gi * g.kg + k] += acc;
                    }
                }
            });
        }
        if (dBias != null) {
            for (int k = 0; k < g.k; k++) {
                dBias.f.put(k, (float) db[k]);
            }
        }
    }

    /** Group {@code gi}'s block {@code [K/groups, C/groups*R*S]} of a weight (or its gradient). */
    private static FloatPointer weights(Plain w, Geometry g, int gi) {
        return at(w, (long) gi * g.kg * g.crs);
    }

    private static FloatPointer at(Plain s, long offset) {
        return new FloatPointer(s.floats).position(offset);
    }

    /** Heap copy of a chunk of images (the calling thread's), read by every worker of one call. */
    private static final ThreadLocal<float[]> CHUNK = ThreadLocal.withInitial(() -> new float[0]);
    /** One row of {@code col} being assembled (each worker's own). */
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] buffer(ThreadLocal<float[]> tl, int size) {
        float[] b = tl.get();
        if (b.length < size) {
            b = new float[size];
            tl.set(b);
        }
        return b;
    }

    /**
     * col[(c*R + r)*S + s, i*PQ + p*Q + q] = x[n0 + i, group channel c, p*sh - ph + r*dh, q*sw - pw + s*dw].
     *
     * <p>The chunk's images are copied to the heap once; each row of {@code col} is then assembled in a heap
     * buffer with plain loops and stored with one bulk copy (tiny per-pixel-row copies cost more than the data).
     */
    private void im2col(Plain x, Geometry g, int n0, int nb, int group, Plain col) {
        int plane = g.h * g.w;
        int img = g.cg * plane;
        float[] xs = buffer(CHUNK, nb * img);
        for (int i = 0; i < nb; i++) {
            x.f.get(((n0 + i) * g.c + group * g.cg) * plane, xs, i * img, img);
        }
        ConvParams p = g.params;
        int cols = nb * g.pq;
        parallel.forRange(g.crs, cols, (from, to) -> {
            float[] row = buffer(ROW, cols);
            for (int rr = from; rr < to; rr++) {
                int c = rr / (g.r * g.s);
                int r = (rr / g.s) % g.r;
                int s = rr % g.s;
                Tap t = Tap.of(g, r, s);
                int shift = t.shift;
                int lo = t.lo;
                int hi = t.hi;
                int k = 0;
                if (sameWidth(g)) {
                    for (int i = 0; i < nb; i++, k += g.pq) {
                        shiftedPlane(xs, i * img + c * plane, plane, g, t.dy, shift, t.pLo, t.pHi, row, k);
                    }
                    col.f.put(rr * cols, row, 0, cols);
                    continue;
                }
                for (int i = 0; i < nb; i++) {
                    int planeBase = i * img + c * plane;
                    for (int pp = 0; pp < g.p; pp++) {
                        int y = pp * p.strideH() - p.padH() + r * p.dilationH();
                        if (y < 0 || y >= g.h) {
                            for (int z = 0; z < g.q; z++) {
                                row[k + z] = 0f;
                            }
                        } else if (p.strideW() == 1) {
                            int src = planeBase + y * g.w + shift;
                            for (int z = 0; z < lo; z++) {
                                row[k + z] = 0f;
                            }
                            for (int z = lo; z < hi; z++) {
                                row[k + z] = xs[src + z];
                            }
                            for (int z = hi; z < g.q; z++) {
                                row[k + z] = 0f;
                            }
                        } else {
                            int base = planeBase + y * g.w;
                            for (int qq = 0; qq < g.q; qq++) {
                                int xx = qq * p.strideW() + shift;
                                row[k + qq] = xx >= 0 && xx < g.w ? xs[base + xx] : 0f;
                            }
                        }
                        k += g.q;
                    }
                }
                col.f.put(rr * cols, row, 0, cols);
            }
        });
    }

    /**
     * Adds each column of {@code col} back onto the input pixels it came from (the adjoint of im2col). Workers
     * take whole channels, so no two add into the same pixel.
     */
    private void col2im(Plain col, Geometry g, int n0, int nb, int group, Plain dx) {
        int plane = g.h * g.w;
        int img = g.cg * plane;
        float[] dxs = buffer(CHUNK, nb * img);
        Arrays.fill(dxs, 0, nb * img, 0f);
        ConvParams p = g.params;
        int cols = nb * g.pq;
        parallel.forRange(g.cg, (long) g.r * g.s * cols, (from, to) -> {
            float[] row = buffer(ROW, cols);
            for (int c = from; c < to; c++) {
                for (int r = 0; r < g.r; r++) {
                    for (int s = 0; s < g.s; s++) {
                        col.f.get(((c * g.r + r) * g.s + s) * cols, row, 0, cols);
                        Tap t = Tap.of(g, r, s);
                        int shift = t.shift;
                        int lo = t.lo;
                        int hi = t.hi;
                        int k = 0;
                        if (sameWidth(g)) {
                            for (int i = 0; i < nb; i++, k += g.pq) {
                                addShiftedPlane(row, k, g, t.dy, shift, t.pLo, t.pHi, dxs, i * img + c * plane, plane);
                            }
                            continue;
                        }
                        for (int i = 0; i < nb; i++) {
                            int planeBase = i * img + c * plane;
                            for (int pp = 0; pp < g.p; pp++) {
                                int y = pp * p.strideH() - p.padH() + r * p.dilationH();
                                if (y >= 0 && y < g.h) {
                                    if (p.strideW() == 1) {
                                        int dst = planeBase + y * g.w + shift;
                                        for (int z = lo; z < hi; z++) {
                                            dxs[dst + z] += row[k + z];
                                        }
                                    } else {
                                        int base = planeBase + y * g.w;
                                        for (int qq = 0; qq < g.q; qq++) {
                                            int xx = qq * p.strideW() + shift;
                                            if (xx >= 0 && xx < g.w) {
                                                dxs[base + xx] += row[k + qq];
                                            }
                                        }
                                    }
                                }
                                k += g.q;
                            }
                        }
                    }
                }
            }
        });
        for (int i = 0; i < nb; i++) {
            dx.f.put(((n0 + i) * g.c + group * g.cg) * plane, dxs, i * img, img);
        }
    }

    /**
     * Where filter tap {@code (r, s)} reads the input, shared by im2col and its adjoint col2im: the column
     * {@code shift} and, for stride 1, the output columns {@code [lo, hi)} that land inside the row; the row
     * {@code dy} and the output rows {@code [pLo, pHi)} that land inside the plane (used when {@link #sameWidth}).
     */
    private record Tap(int shift, int lo, int hi, int dy, int pLo, int pHi) {
        static Tap of(Geometry g, int r, int s) {
            ConvParams p = g.params;
            int shift = s * p.dilationW() - p.padW();
            int lo = 0;
            int hi = g.q;
            if (p.strideW() == 1) {
                lo = Math.max(0, -shift);
                hi = Math.max(lo, Math.min(g.q, g.w - shift));
            }
            int dy = r * p.dilationH() - p.padH();
            int pLo = Math.max(0, -dy);
            int pHi = Math.max(pLo, Math.min(g.p, g.h - dy));
            return new Tap(shift, lo, hi, dy, pLo, pHi);
        }
    }

    /**
     * Stride 1 with output width = input width (the usual "same" convolution): the receptive-field row of one
     * image is its plane shifted by {@code dy} rows and {@code dx} columns, so one long copy replaces a copy per
     * pixel row; the columns that wrap around to the neighbouring row, and the rows outside, are zeroed.
     */
    private static boolean sameWidth(Geometry g) {
        return g.params.strideH() == 1 && g.params.strideW() == 1 && g.q == g.w;
    }

    private static void shiftedPlane(
            float[] xs, int planeBase, int plane, Geometry g, int dy, int dx, int pLo, int pHi, float[] row, int k) {
        int w = g.w;
        int total = (pHi - pLo) * w;
        int dst = k + pLo * w;
        int src = planeBase + (pLo + dy) * w + dx;
        int a = Math.min(total, Math.max(0, planeBase - src));
        int b = Math.max(a, Math.min(total, planeBase + plane - src));
        for (int z = k; z < dst + a; z++) {
            row[z] = 0f;
        }
        System.arraycopy(xs, src + a, row, dst + a, b - a);
        for (int z = dst + b; z < k + g.pq; z++) {
            row[z] = 0f;
        }
        if (dx != 0) {
            int from = dx > 0 ? w - dx : 0;
            int to = dx > 0 ? w : -dx;
            for (int y = pLo; y < pHi; y++) {
                int base = k + y * w;
                for (int z = Math.max(0, from); z < Math.min(w, to); z++) {
                    row[base + z] = 0f;
                }
            }
        }
    }

    private static void addShiftedPlane(
            float[] row, int k, Geometry g, int dy, int dx, int pLo, int pHi, float[] dxs, int planeBase, int plane) {
        int w = g.w;
        if (dx != 0) {
            int from = dx > 0 ? w - dx : 0;
            int to = dx > 0 ? w : -dx;
            for (int y = pLo; y < pHi; y++) {
                int base = k + y * w;
                for (int z = Math.max(0, from); z < Math.min(w, to); z++) {
                    row[base + z] = 0f;
                }
            }
        }
        int total = (pHi - pLo) * w;
        int src = k + pLo * w;
        int dst = planeBase + (pLo + dy) * w + dx;
        int a = Math.min(total, Math.max(0, planeBase - dst));
        int b = Math.max(a, Math.min(total, planeBase + plane - dst));
        for (int z = a; z < b; z++) {
            dxs[dst + z] += row[src + z];
        }
    }

    /** dOutT[k, i*PQ + j] = dOut[n0 + i, group*Kg + k, j]. */
    private void gatherRows(Plain dOut, Geometry g, int n0, int nb, int group, Plain dOutT) {
        int cols = nb * g.pq;
        parallel.forRange(nb, (long) g.kg * g.pq, (from, to) -> {
            float[] row = new float[g.pq];
            for (int i = from; i < to; i++) {
                for (int k = 0; k < g.kg; k++) {
                    dOut.f.get(((n0 + i) * g.k + group * g.kg + k) * g.pq, row, 0, g.pq);
                    dOutT.f.put(k * cols + i * g.pq, row, 0, g.pq);
                }
            }
        });
    }
}
