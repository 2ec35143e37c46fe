package dev.gradus.backend.cpu;

import dev.gradus.backend.cpu.CpuStorage.Plain;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import java.util.Arrays;

/** Max and average pooling, forward and backward, in Java on dense NCHW storages in plain order. */
final class CpuPool {
    private final Parallel parallel;

    CpuPool(Parallel parallel) {
        this.parallel = parallel;
    }

    /** The planes' sizes ({@code h x w} in, {@code oh x ow} out) and a range {@code [from, to)} of them. */
    @FunctionalInterface
    private interface PlaneRange {
        void run(int from, int to, int h, int w, int oh, int ow);
    }

    /** Splits the {@code N*C} planes of input {@code xs} and output {@code os} over the pool's threads. */
    private void forPlanes(int[] xs, int[] os, PlaneRange kernel) {
        int h = xs[2];
        int w = xs[3];
        parallel.forRange(xs[0] * xs[1], (long) h * w, (from, to) -> kernel.run(from, to, h, w, os[2], os[3]));
    }

    void pool(PoolOp op, Plain x, int[] xs, Plain out, int[] os, Plain argmax, PoolParams p) {
        float inv = 1f / (p.kernelH() * p.kernelW());
        forPlanes(xs, os, (from, to, h, w, oh, ow) -> {
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

    void poolBackward(PoolOp op, Plain dOut, int[] os, Plain argmax, Plain dx, int[] xs, PoolParams p) {
        float inv = 1f / (p.kernelH() * p.kernelW());
        forPlanes(xs, os, (from, to, h, w, oh, ow) -> {
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
}
