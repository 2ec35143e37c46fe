package dev.gradus.backend.cpu;

import dev.gradus.backend.cpu.CpuStorage.Plain;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Batch normalisation in training mode, forward (batch statistics, running averages) and backward, in Java on
 * dense NCHW storages in plain order: whole channels per thread, or rows of channels for small planes.
 */
final class CpuBatchNorm {
    private final Parallel parallel;

    CpuBatchNorm(Parallel parallel) {
        this.parallel = parallel;
    }

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

    void batchNormTrain(Plain x, Plain out, BnCall b) {
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
            float[] buf = new float[Math.min(Scratch.TILE, hw)];
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

    void batchNormBackward(Plain x, Plain dOut, BnCall b, Plain dx, Plain dGamma, Plain dBeta) {
        int n = b.n();
        int c = b.c();
        int hw = b.hw();
        long m = (long) n * hw;
        if (hw < SMALL_PLANE) {
            batchNormBackwardRows(x, dOut, b, dx, dGamma, dBeta);
            return;
        }
        parallel.forRange(c, m * 4, (from, to) -> {
            int t = Math.min(Scratch.TILE, hw);
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

    private void batchNormTrainRows(Plain x, Plain out, BnCall b) {
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

    private void batchNormBackwardRows(Plain x, Plain dOut, BnCall b, Plain dx, Plain dGamma, Plain dBeta) {
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
