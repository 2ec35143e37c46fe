package dev.gradus.backend.cpu;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import dev.gradus.DType;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Convolution through im2col and OpenBLAS GEMM over chunks of images, pooling and batch normalisation in Java,
 * all on dense NCHW storages.
 *
 * <p>Convolution of a chunk of {@code nb} images: {@code col [C*R*S, nb*P*Q]} holds the receptive fields, one GEMM
 * {@code W [K, C*R*S] x col} gives {@code [K, nb*P*Q]}, and a copy of contiguous rows puts it in NCHW order. The
 * chunk is sized so {@code col} stays near {@link #COL_BUDGET} floats, whatever the batch.
 */
final class CpuConv {
    /** Floats of the im2col buffer per chunk (16 MiB). */
    static final int COL_BUDGET = 1 << 22;

    private final CpuBackend backend;
    private final Parallel parallel;

    CpuConv(CpuBackend backend, Parallel parallel) {
        this.backend = backend;
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

    private CpuStorage scratch(long floats) {
        return (CpuStorage) backend.allocate(DType.FLOAT32, (int) Math.max(1, floats));
    }

    // ------------------------------------------------------------------ convolution

    void forward(ConvShapes shapes, CpuStorage x, CpuStorage w, CpuStorage bias, CpuStorage out) {
        Geometry g = Geometry.of(shapes);
        CpuStorage col = scratch((long) g.crs * g.chunk * g.pq);
        CpuStorage tmp = scratch((long) g.kg * g.chunk * g.pq);
        float[] b = new float[g.k];
        if (bias != null) {
            bias.f.get(0, b, 0, g.k);
        }
        try {
            for (int n0 = 0; n0 < g.n; n0 += g.chunk) {
                int nb = Math.min(g.chunk, g.n - n0);
                int cols = nb * g.pq;
                for (int gi = 0; gi < g.groups; gi++) {
                    im2col(x, g, n0, nb, gi, col);
                    cblas_sgemm(
                            CblasRowMajor,
                            CblasNoTrans,
                            CblasNoTrans,
                            g.kg,
                            cols,
                            g.crs,
                            1f,
                            at(w, (long) gi * g.kg * g.crs),
                            g.crs,
                            at(col, 0),
                            cols,
                            0f,
                            at(tmp, 0),
                            cols);
                    int kBase = gi * g.kg;
                    final int n0f = n0;
                    // [Kg, nb*PQ] -> out[n, kBase + k, :], adding the bias on the way
                    parallel.forRange(nb, (long) g.kg * g.pq, (from, to) -> {
                        float[] row = new float[g.pq];
                        for (int i = from; i < to; i++) {
                            for (int k = 0; k < g.kg; k++) {
                                tmp.f.get(k * cols + i * g.pq, row, 0, g.pq);
                                float bk = b[kBase + k];
                                if (bk != 0f) {
                                    for (int j = 0; j < g.pq; j++) {
                                        row[j] += bk;
                                    }
                                }
                                out.f.put(((n0f + i) * g.k + kBase + k) * g.pq, row, 0, g.pq);
                            }
                        }
                    });
                }
            }
        } finally {
            backend.free(col);
            backend.free(tmp);
        }
    }

    void backwardData(ConvShapes shapes, CpuStorage dOut, CpuStorage w, CpuStorage dx) {
        Geometry g = Geometry.of(shapes);
        CpuStorage col = scratch((long) g.crs * g.chunk * g.pq);
        CpuStorage dOutT = scratch((long) g.kg * g.chunk * g.pq);
        try {
            for (int n0 = 0; n0 < g.n; n0 += g.chunk) {
                int nb = Math.min(g.chunk, g.n - n0);
                int cols = nb * g.pq;
                for (int gi = 0; gi < g.groups; gi++) {
                    gatherRows(dOut, g, n0, nb, gi, dOutT);
                    cblas_sgemm(
                            CblasRowMajor,
                            CblasTrans,
                            CblasNoTrans,
                            g.crs,
                            cols,
                            g.kg,
                            1f,
                            at(w, (long) gi * g.kg * g.crs),
                            g.crs,
                            at(dOutT, 0),
                            cols,
                            0f,
                            at(col, 0),
                            cols);
                    col2im(col, g, n0, nb, gi, dx);
                }
            }
        } finally {
            backend.free(col);
            backend.free(dOutT);
        }
    }

    void backwardFilter(ConvShapes shapes, CpuStorage x, CpuStorage dOut, CpuStorage dw, CpuStorage dBias) {
        Geometry g = Geometry.of(shapes);
        CpuStorage col = scratch((long) g.crs * g.chunk * g.pq);
        CpuStorage dOutT = scratch((long) g.kg * g.chunk * g.pq);
        double[] db = new double[g.k];
        try {
            for (int n0 = 0; n0 < g.n; n0 += g.chunk) {
                int nb = Math.min(g.chunk, g.n - n0);
                int cols = nb * g.pq;
                for (int gi = 0; gi < g.groups; gi++) {
                    im2col(x, g, n0, nb, gi, col);
                    gatherRows(dOut, g, n0, nb, gi, dOutT);
                    cblas_sgemm(
                            CblasRowMajor,
                            CblasNoTrans,
                            CblasTrans,
                            g.kg,
                            g.crs,
                            cols,
                            1f,
                            at(dOutT, 0),
                            cols,
                            at(col, 0),
                            cols,
                            n0 == 0 ? 0f : 1f,
                            at(dw, (long) gi * g.kg * g.crs),
                            g.crs);
                    if (dBias != null) {
                        float[] row = buffer(ROW, cols);
                        for (int k = 0; k < g.kg; k++) {
                            dOutT.f.get(k * cols, row, 0, cols);
                            double acc = 0;
                            for (int j = 0; j < cols; j++) {
                                acc += row[j];
                            }
                            db[gi * g.kg + k] += acc;
                        }
                    }
                }
            }
            if (dBias != null) {
                for (int k = 0; k < g.k; k++) {
                    dBias.f.put(k, (float) db[k]);
                }
            }
        } finally {
            backend.free(col);
            backend.free(dOutT);
        }
    }

    private static FloatPointer at(CpuStorage s, long offset) {
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
    private void im2col(CpuStorage x, Geometry g, int n0, int nb, int group, CpuStorage col) {
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
    private void col2im(CpuStorage col, Geometry g, int n0, int nb, int group, CpuStorage dx) {
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
    private void gatherRows(CpuStorage dOut, Geometry g, int n0, int nb, int group, CpuStorage dOutT) {
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

    // ------------------------------------------------------------------ pooling

    void pool(PoolOp op, CpuStorage x, int[] xs, CpuStorage out, int[] os, CpuStorage argmax, PoolParams p) {
        int planes = xs[0] * xs[1];
        int h = xs[2];
        int w = xs[3];
        int oh = os[2];
        int ow = os[3];
        float inv = 1f / (p.kernelH() * p.kernelW());
        parallel.forRange(planes, (long) h * w, (from, to) -> {
            float[] in = new float[h * w];
            float[] o = new float[oh * ow];
            int[] idx = new int[oh * ow];
            for (int pl = from; pl < to; pl++) {
                x.f.get(pl * h * w, in, 0, h * w);
                if (op == PoolOp.MAX
                        && p.kernelH() == 2
                        && p.kernelW() == 2
                        && p.strideH() == 2
                        && p.strideW() == 2
                        && p.padH() == 0
                        && p.padW() == 0) {
                    max2x2(in, w, o, idx, oh, ow);
                    out.f.put(pl * oh * ow, o, 0, oh * ow);
                    argmax.i.put(pl * oh * ow, idx, 0, oh * ow);
                    continue;
                }
                for (int y = 0; y < oh; y++) {
                    int y0 = y * p.strideH() - p.padH();
                    for (int xq = 0; xq < ow; xq++) {
                        int x0 = xq * p.strideW() - p.padW();
                        float best = Float.NEGATIVE_INFINITY;
                        int bestAt = -1;
                        float sum = 0f;
                        for (int r = 0; r < p.kernelH(); r++) {
                            int yy = y0 + r;
                            if (yy < 0 || yy >= h) {
                                continue;
                            }
                            for (int s = 0; s < p.kernelW(); s++) {
                                int xx = x0 + s;
                                if (xx < 0 || xx >= w) {
                                    continue;
                                }
                                float v = in[yy * w + xx];
                                sum += v;
                                // NaN wins so it propagates, as in PyTorch.
                                if (v > best || bestAt < 0 || v != v) {
                                    best = v;
                                    bestAt = yy * w + xx;
                                }
                            }
                        }
                        o[y * ow + xq] = op == PoolOp.MAX ? best : sum * inv;
                        idx[y * ow + xq] = bestAt;
                    }
                }
                out.f.put(pl * oh * ow, o, 0, oh * ow);
                if (op == PoolOp.MAX) {
                    argmax.i.put(pl * oh * ow, idx, 0, oh * ow);
                }
            }
        });
    }

    /**
     * The common 2x2, stride 2 window without padding, branch-free: on random data the branches of a compare
     * chain mispredict often enough to make this four times slower. Ties go to the first element.
     */
    private static void max2x2(float[] in, int w, float[] o, int[] idx, int oh, int ow) {
        for (int y = 0; y < oh; y++) {
            int r0 = 2 * y * w;
            int r1 = r0 + w;
            for (int x = 0; x < ow; x++) {
                int a = r0 + 2 * x;
                int b = r1 + 2 * x;
                float v0 = in[a];
                float v1 = in[a + 1];
                float v2 = in[b];
                float v3 = in[b + 1];
                // Math.max propagates NaN; the index follows it as the general loop's does (a later NaN wins).
                int i01 = v1 > v0 || v1 != v1 ? a + 1 : a;
                float m01 = Math.max(v0, v1);
                int i23 = v3 > v2 || v3 != v3 ? b + 1 : b;
                float m23 = Math.max(v2, v3);
                idx[y * ow + x] = m23 > m01 || m23 != m23 ? i23 : i01;
                o[y * ow + x] = Math.max(m01, m23);
            }
        }
    }

    void poolBackward(PoolOp op, CpuStorage dOut, int[] os, CpuStorage argmax, CpuStorage dx, int[] xs, PoolParams p) {
        int planes = xs[0] * xs[1];
        int h = xs[2];
        int w = xs[3];
        int oh = os[2];
        int ow = os[3];
        float inv = 1f / (p.kernelH() * p.kernelW());
        parallel.forRange(planes, (long) h * w, (from, to) -> {
            float[] d = new float[h * w];
            float[] g = new float[oh * ow];
            int[] idx = new int[oh * ow];
            for (int pl = from; pl < to; pl++) {
                Arrays.fill(d, 0f);
                dOut.f.get(pl * oh * ow, g, 0, oh * ow);
                if (op == PoolOp.MAX) {
                    argmax.i.get(pl * oh * ow, idx, 0, oh * ow);
                    for (int j = 0; j < oh * ow; j++) {
                        if (idx[j] >= 0) {
                            d[idx[j]] += g[j];
                        }
                    }
                } else {
                    for (int y = 0; y < oh; y++) {
                        for (int xq = 0; xq < ow; xq++) {
                            float v = g[y * ow + xq] * inv;
                            for (int r = 0; r < p.kernelH(); r++) {
                                int yy = y * p.strideH() - p.padH() + r;
                                if (yy < 0 || yy >= h) {
                                    continue;
                                }
                                for (int s = 0; s < p.kernelW(); s++) {
                                    int xx = xq * p.strideW() - p.padW() + s;
                                    if (xx >= 0 && xx < w) {
                                        d[yy * w + xx] += v;
                                    }
                                }
                            }
                        }
                    }
                }
                dx.f.put(pl * h * w, d, 0, h * w);
            }
        });
    }

    // ------------------------------------------------------------------ batch normalisation

    /** Calls {@code body} with each {@code hw}-long block of channel {@code ch}, loaded into {@code buf}. */
    private interface BlockBody {
        void block(int index, float[] buf, int len);
    }

    private static void forChannelBlocks(FloatBuffer src, int n, int c, int hw, int ch, float[] buf, BlockBody body) {
        for (int i = 0; i < n; i++) {
            int base = (i * c + ch) * hw;
            for (int t = 0; t < hw; t += buf.length) {
                int len = Math.min(buf.length, hw - t);
                src.get(base + t, buf, 0, len);
                body.block(base + t, buf, len);
            }
        }
    }

    void batchNormTrain(CpuStorage x, CpuStorage out, BnCall b) {
        int n = b.n();
        int c = b.c();
        int hw = b.hw();
        long m = (long) n * hw;
        if (m < 1) {
            throw new IllegalArgumentException("batchNorm: no values per channel");
        }
        if (c == 0) {
            return;
        }
        if (hw < SMALL_PLANE) {
            batchNormTrainRows(x, out, b);
            return;
        }
        // Channels are independent; with few channels split each channel's pass over threads would need a
        // reduction, so threads take whole channels.
        parallel.forRange(c, m * 3, (from, to) -> {
            float[] buf = new float[Math.min(CpuBackend.TILE, hw)];
            for (int ch = from; ch < to; ch++) {
                double[] acc = new double[1];
                forChannelBlocks(x.f, n, c, hw, ch, buf, (at, r, len) -> {
                    double s = 0;
                    for (int j = 0; j < len; j++) {
                        s += r[j];
                    }
                    acc[0] += s;
                });
                double mean = acc[0] / m;
                acc[0] = 0;
                forChannelBlocks(x.f, n, c, hw, ch, buf, (at, r, len) -> {
                    double s = 0;
                    for (int j = 0; j < len; j++) {
                        double d = r[j] - mean;
                        s += d * d;
                    }
                    acc[0] += s;
                });
                double var = acc[0] / m;
                float invStd = (float) (1.0 / Math.sqrt(var + b.eps()));
                float scale = b.gammaAt(ch) * invStd;
                float shift = b.betaAt(ch) - (float) mean * scale;
                forChannelBlocks(x.f, n, c, hw, ch, buf, (at, r, len) -> {
                    for (int j = 0; j < len; j++) {
                        r[j] = r[j] * scale + shift;
                    }
                    out.f.put(at, r, 0, len);
                });
                b.save(ch, mean, var, invStd);
            }
        });
    }

    void batchNormBackward(
            CpuStorage x, CpuStorage dOut, BnCall b, CpuStorage dx, CpuStorage dGamma, CpuStorage dBeta) {
        int n = b.n();
        int c = b.c();
        int hw = b.hw();
        long m = (long) n * hw;
        if (hw < SMALL_PLANE) {
            batchNormBackwardRows(x, dOut, b, dx, dGamma, dBeta);
            return;
        }
        parallel.forRange(c, m * 4, (from, to) -> {
            int t = Math.min(CpuBackend.TILE, hw);
            float[] bx = new float[t];
            float[] bd = new float[t];
            for (int ch = from; ch < to; ch++) {
                float mean = b.saveMean().f.get(ch);
                float invStd = b.saveInvStd().f.get(ch);
                double sumD = 0;
                double sumDX = 0;
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * hw;
                    for (int o = 0; o < hw; o += t) {
                        int len = Math.min(t, hw - o);
                        x.f.get(base + o, bx, 0, len);
                        dOut.f.get(base + o, bd, 0, len);
                        for (int j = 0; j < len; j++) {
                            sumD += bd[j];
                            sumDX += bd[j] * (bx[j] - mean) * invStd;
                        }
                    }
                }
                float k1 = b.gammaAt(ch) * invStd;
                float meanD = (float) (sumD / m);
                float meanDX = (float) (sumDX / m);
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * hw;
                    for (int o = 0; o < hw; o += t) {
                        int len = Math.min(t, hw - o);
                        x.f.get(base + o, bx, 0, len);
                        dOut.f.get(base + o, bd, 0, len);
                        for (int j = 0; j < len; j++) {
                            float xhat = (bx[j] - mean) * invStd;
                            bd[j] = k1 * (bd[j] - meanD - xhat * meanDX);
                        }
                        dx.f.put(base + o, bd, 0, len);
                    }
                }
                if (dGamma != null) {
                    dGamma.f.put(ch, (float) sumDX);
                }
                if (dBeta != null) {
                    dBeta.f.put(ch, (float) sumD);
                }
            }
        });
    }

    /**
     * Planes smaller than this ({@code BatchNorm1d}'s {@code hw = 1}) take the row kernels: a thread's channels
     * of one image are one contiguous run, added element-wise across images (vectorised), where the per-channel
     * kernels would copy one value at a time (2.9 ms against 0.1 ms for [128, 256]).
     */
    static final int SMALL_PLANE = 16;

    private void batchNormTrainRows(CpuStorage x, CpuStorage out, BnCall b) {
        int n = b.n();
        int c = b.c();
        int hw = b.hw();
        long m = (long) n * hw;
        parallel.forRange(c, m * 3, (from, to) -> {
            int len = (to - from) * hw;
            // Sums in double, as the per-channel kernel's: float partial sums moved bn-cnn's 10-epoch accuracy.
            float[] row = new float[len];
            float[] centre = new float[len];
            double[] tot1 = new double[len];
            double[] tot2 = new double[len];
            for (int i = 0; i < n; i++) {
                x.f.get((i * c + from) * hw, row, 0, len);
                for (int k = 0; k < len; k++) {
                    tot1[k] += row[k];
                }
            }
            double[] mean = channelTotals(tot1, to - from, hw, m);
            for (int k = 0; k < len; k++) {
                centre[k] = (float) mean[k / hw];
            }
            Arrays.fill(tot1, 0);
            for (int i = 0; i < n; i++) {
                x.f.get((i * c + from) * hw, row, 0, len);
                for (int k = 0; k < len; k++) {
                    double d = row[k] - centre[k];
                    tot1[k] += d;
                    tot2[k] += d * d;
                }
            }
            double[] off = channelTotals(tot1, to - from, hw, m); // what the float mean is off by
            double[] sq = channelTotals(tot2, to - from, hw, m);
            float[] scale = new float[len];
            float[] shift = new float[len];
            for (int j = 0; j < to - from; j++) {
                int ch = from + j;
                double mu = centre[j * hw] + off[j];
                double var = Math.max(0, sq[j] - off[j] * off[j]);
                float invStd = (float) (1.0 / Math.sqrt(var + b.eps()));
                float sc = b.gammaAt(ch) * invStd;
                float sh = b.betaAt(ch) - (float) mu * sc;
                Arrays.fill(scale, j * hw, (j + 1) * hw, sc);
                Arrays.fill(shift, j * hw, (j + 1) * hw, sh);
                b.save(ch, mu, var, invStd);
            }
            for (int i = 0; i < n; i++) {
                int at = (i * c + from) * hw;
                x.f.get(at, row, 0, len);
                for (int k = 0; k < len; k++) {
                    row[k] = row[k] * scale[k] + shift[k];
                }
                out.f.put(at, row, 0, len);
            }
        });
    }

    private void batchNormBackwardRows(
            CpuStorage x, CpuStorage dOut, BnCall b, CpuStorage dx, CpuStorage dGamma, CpuStorage dBeta) {
        int n = b.n();
        int c = b.c();
        int hw = b.hw();
        long m = (long) n * hw;
        parallel.forRange(c, m * 4, (from, to) -> {
            int len = (to - from) * hw;
            float[] bx = new float[len];
            float[] bd = new float[len];
            float[] mean = new float[len];
            float[] inv = new float[len];
            double[] totD = new double[len];
            double[] totDX = new double[len];
            for (int j = 0; j < to - from; j++) {
                Arrays.fill(mean, j * hw, (j + 1) * hw, b.saveMean().f.get(from + j));
                Arrays.fill(inv, j * hw, (j + 1) * hw, b.saveInvStd().f.get(from + j));
            }
            for (int i = 0; i < n; i++) {
                int at = (i * c + from) * hw;
                x.f.get(at, bx, 0, len);
                dOut.f.get(at, bd, 0, len);
                for (int k = 0; k < len; k++) {
                    totD[k] += bd[k];
                    totDX[k] += (double) bd[k] * ((bx[k] - mean[k]) * inv[k]);
                }
            }
            double[] sumD = channelTotals(totD, to - from, hw, 1);
            double[] sumDX = channelTotals(totDX, to - from, hw, 1);
            float[] k1 = new float[len];
            float[] meanD = new float[len];
            float[] meanDX = new float[len];
            for (int j = 0; j < to - from; j++) {
                int ch = from + j;
                Arrays.fill(
                        k1,
                        j * hw,
                        (j + 1) * hw,
                        b.gammaAt(ch) * b.saveInvStd().f.get(ch));
                Arrays.fill(meanD, j * hw, (j + 1) * hw, (float) (sumD[j] / m));
                Arrays.fill(meanDX, j * hw, (j + 1) * hw, (float) (sumDX[j] / m));
                if (dGamma != null) {
                    dGamma.f.put(ch, (float) sumDX[j]);
                }
                if (dBeta != null) {
                    dBeta.f.put(ch, (float) sumD[j]);
                }
            }
            for (int i = 0; i < n; i++) {
                int at = (i * c + from) * hw;
                x.f.get(at, bx, 0, len);
                dOut.f.get(at, bd, 0, len);
                for (int k = 0; k < len; k++) {
                    float xhat = (bx[k] - mean[k]) * inv[k];
                    bd[k] = k1[k] * (bd[k] - meanD[k] - xhat * meanDX[k]);
                }
                dx.f.put(at, bd, 0, len);
            }
        });
    }

    /** Per channel of a run of {@code channels * hw} element totals: their sum divided by {@code divisor}. */
    private static double[] channelTotals(double[] tot, int channels, int hw, long divisor) {
        double[] r = new double[channels];
        for (int j = 0; j < channels; j++) {
            double s = 0;
            for (int k = j * hw; k < (j + 1) * hw; k++) {
                s += tot[k];
            }
            r[j] = s / divisor;
        }
        return r;
    }
}
