package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_MEAN;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_VARIANCE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_a;
import static org.bytedeco.dnnl.global.dnnl.dnnl_backward;
import static org.bytedeco.dnnl.global.dnnl.dnnl_batch_normalization_backward_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_batch_normalization_forward_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nchw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_normalization_flags_none;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_global_stats;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_scale;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_shift;

import dev.gradus.DType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batch normalisation in training mode (forward and backward) through oneDNN, on plain data or in the blocked
 * layout a oneDNN convolution left; the output keeps the input's layout.
 *
 * <p>Our Java kernel reads each channel three times in double precision and forces a blocked input back to plain:
 * 17 ms forward and 15 ms backward per {@code bn-cnn} step on 2 cores. Here the batch's mean and biased variance
 * are computed in Java, in double precision, straight over the blocked layout ({@link #statistics}: oneDNN sums
 * them in float), oneDNN normalises with them, and {@code 1/sqrt(var + eps)} and the running statistics (unbiased
 * variance, momentum) are derived as {@link dev.gradus.spi.Backend#batchNormTrain} says. The backward takes the
 * variance, rebuilt from the saved {@code invStd} with {@code eps = 0}, which gives oneDNN the same {@code invStd}
 * back. The forward of a plain input (such as {@code BatchNorm1d}'s) stays on the Java kernel; every backward
 * comes here.
 */
final class DnnlBatchNorm {
    private static final Logger LOG = LoggerFactory.getLogger(DnnlBatchNorm.class);

    private record Key(boolean backward, int n, int c, int hw, boolean affine, DnnlLayout layout, float eps) {
    }

    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final Map<Key, DnnlPlan> plans = new ConcurrentHashMap<>();

    DnnlBatchNorm(Dnnl dnnl, CpuBackend backend) {
        this.dnnl = dnnl;
        this.backend = backend;
    }

    /** See {@link dev.gradus.spi.Backend#batchNormTrain}; false when oneDNN declines (nothing done then). */
    boolean train(CpuStorage x, int n, int c, int hw, CpuStorage gamma, CpuStorage beta, float eps, float momentum,
                  CpuStorage runningMean, CpuStorage runningVar, CpuStorage out, CpuStorage saveMean,
                  CpuStorage saveInvStd) {
        DnnlLayout layout = layoutOf(x, n, c, hw);
        // The statistics below walk nChw<B>c; plain input (BatchNorm1d's [N, C], small) takes the Java kernel's
        // forward, and its backward still comes here.
        int block = layout != null ? layout.channelBlock : 0;
        if ((gamma == null) != (beta == null) || (long) n * hw < 1 || c == 0 || block == 0
                || x.numel != (long) n * c * hw) {
            return false;
        }
        DnnlPlan plan = plan(new Key(false, n, c, hw, gamma != null, layout, eps));
        if (plan == DnnlPlan.UNSUPPORTED) {
            return false;
        }
        CpuStorage var = (CpuStorage) backend.allocate(DType.FLOAT32, c);
        try {
            double[] variance = statistics(x, n, c, hw, block, saveMean);
            for (int ch = 0; ch < c; ch++) {
                var.f.put(ch, (float) variance[ch]);
            }
            if (gamma != null) {
                plan.run(dnnl, x, saveMean, var, gamma, beta, out);
            } else {
                plan.run(dnnl, x, saveMean, var, out);
            }
            long m = (long) n * hw;
            for (int ch = 0; ch < c; ch++) {
                double v = variance[ch];
                saveInvStd.f.put(ch, (float) (1.0 / Math.sqrt(v + eps)));
                if (runningMean != null) {
                    double unbiased = m > 1 ? v * m / (m - 1) : v;
                    runningMean.f.put(ch, (1 - momentum) * runningMean.f.get(ch) + momentum * saveMean.f.get(ch));
                    runningVar.f.put(ch, (float) ((1 - momentum) * runningVar.f.get(ch) + momentum * unbiased));
                }
            }
        } finally {
            backend.free(var);
        }
        return true;
    }

    /** See {@link dev.gradus.spi.Backend#batchNormBackward}; false when oneDNN declines (nothing done then). */
    boolean backward(CpuStorage x, CpuStorage dOut, int n, int c, int hw, CpuStorage gamma, CpuStorage saveMean,
                     CpuStorage saveInvStd, CpuStorage dx, CpuStorage dGamma, CpuStorage dBeta) {
        boolean affine = gamma != null;
        if (affine && (dGamma == null || dBeta == null) || (long) n * hw < 1 || c == 0) {
            return false;
        }
        DnnlPlan plan = plan(new Key(true, n, c, hw, affine, layoutOf(x, n, c, hw), 0f));
        if (plan == DnnlPlan.UNSUPPORTED) {
            return false;
        }
        CpuStorage var = (CpuStorage) backend.allocate(DType.FLOAT32, c);
        try {
            for (int ch = 0; ch < c; ch++) {
                float inv = saveInvStd.f.get(ch);
                var.f.put(ch, 1f / (inv * inv));
            }
            if (affine) {
                plan.run(dnnl, x, saveMean, var, dOut, gamma, dx, dGamma, dBeta);
            } else {
                plan.run(dnnl, x, saveMean, var, dOut, dx);
            }
        } finally {
            backend.free(var);
        }
        return true;
    }

    /**
     * Per-channel mean (written to {@code mean}) and biased variance (returned) of {@code x} held in
     * {@code nChw<block>c}, in two passes (the mean, then squares around it), each image's sums in float
     * (vectorised over a pixel's {@code block} channels), added up across images in double. Why not oneDNN's: it
     * sums in float throughout, 2e-5 relative error in {@code invStd} on activations of mean 5 and std 0.5, which
     * moved bn-cnn's loss by 2.6e-4 within five Adam steps against emulated CUDA (this: 5e-6). One pass around a
     * pivot (the first image's mean) saved a read but gave 9e-5 there, so both passes stay. Threads take ranges of
     * images, and their partial sums are added in range order, so results do not depend on timing.
     */
    private double[] statistics(CpuStorage x, int n, int c, int hw, int block, CpuStorage mean) {
        long m = (long) n * hw;
        float[] pivot = new float[c];
        double[] s1 = parallelSums(x, n, c, hw, block, pivot)[0];
        for (int ch = 0; ch < c; ch++) {
            pivot[ch] = (float) (s1[ch] / m);
        }
        double[][] s = parallelSums(x, n, c, hw, block, pivot);
        double[] vars = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double d = s[0][ch] / m; // what the float-rounded mean is off by
            mean.f.put(ch, (float) (pivot[ch] + d));
            vars[ch] = Math.max(0, s[1][ch] / m - d * d);
        }
        return vars;
    }

    /** {@link #sums} over all images, split over threads by image ranges and added up in range order. */
    private double[][] parallelSums(CpuStorage x, int n, int c, int hw, int block, float[] pivot) {
        Map<Integer, double[][]> parts = new ConcurrentHashMap<>();
        backend.parallel().forRange(n, (long) c * hw, (from, to) -> parts.put(from, sums(x, from, to, c, hw, block,
                pivot)));
        double[][] out = new double[2][c];
        parts.keySet().stream().sorted().forEach(k -> {
            double[][] part = parts.get(k);
            for (int ch = 0; ch < c; ch++) {
                out[0][ch] += part[0][ch];
                out[1][ch] += part[1][ch];
            }
        });
        return out;
    }

    /** Sums of {@code x - pivot} and {@code (x - pivot)^2} per channel over images {@code [from, to)}. */
    private static double[][] sums(CpuStorage x, int from, int to, int c, int hw, int block, float[] pivot) {
        int blocks = c / block;
        double[][] out = new double[2][c];
        float[] buf = new float[hw * block];
        float[] a1 = new float[block];
        float[] a2 = new float[block];
        float[] k = new float[block];
        for (int i = from; i < to; i++) {
            for (int cb = 0; cb < blocks; cb++) {
                x.f.get((i * blocks + cb) * hw * block, buf, 0, hw * block);
                System.arraycopy(pivot, cb * block, k, 0, block);
                if (block == 16) {
                    sums16(buf, hw, k, a1, a2);
                } else {
                    java.util.Arrays.fill(a1, 0f);
                    java.util.Arrays.fill(a2, 0f);
                    for (int p = 0; p < hw * block; p += block) {
                        for (int j = 0; j < block; j++) {
                            float d = buf[p + j] - k[j];
                            a1[j] += d;
                            a2[j] += d * d;
                        }
                    }
                }
                for (int j = 0; j < block; j++) {
                    out[0][cb * block + j] += a1[j];
                    out[1][cb * block + j] += a2[j];
                }
            }
        }
        return out;
    }

    /**
     * The sums of {@link #sums} for one image's block of 16 channels; a constant trip count lets the JIT keep the
     * accumulators in vector registers (the loop over a variable block length ran at about 1 ns per element).
     */
    private static void sums16(float[] buf, int hw, float[] k, float[] a1, float[] a2) {
        float[] s = new float[16];
        float[] q = new float[16];
        for (int p = 0, o = 0; p < hw; p++, o += 16) {
            for (int j = 0; j < 16; j++) {
                float d = buf[o + j] - k[j];
                s[j] += d;
                q[j] += d * d;
            }
        }
        System.arraycopy(s, 0, a1, 0, 16);
        System.arraycopy(q, 0, a2, 0, 16);
    }

    /** The blocked layout {@code x} is held in, if it is this whole {@code [n, c, hw]} block; else null. */
    private static DnnlLayout layoutOf(CpuStorage x, int n, int c, int hw) {
        DnnlLayout l = x.layout();
        return l != null && x.numel == (long) n * c * hw && l.bytes == (long) n * c * hw * Float.BYTES ? l : null;
    }

    private DnnlPlan plan(Key key) {
        DnnlPlan p = plans.get(key);
        return p != null ? p : plans.computeIfAbsent(key, this::build);
    }

    private DnnlPlan build(Key key) {
        // Plain data as [n, c, hw, 1] NCHW; blocked data in its own descriptor, whose dims are the producer's
        // [N, C, H, W] with H * W = hw.
        dnnl_memory_desc plain = key.layout != null ? key.layout.plain : Dnnl.md(dnnl_nchw, key.n, key.c, key.hw, 1);
        dnnl_memory_desc data = key.layout != null ? key.layout.blocked : plain;
        dnnl_memory_desc stat = Dnnl.md(dnnl_a, key.c);
        int flags = key.affine ? dnnl_use_scale | dnnl_use_shift : dnnl_normalization_flags_none;
        dnnl_primitive_desc fwd = new dnnl_primitive_desc();
        // The forward normalises with statistics computed here (global stats); the backward, which needs a hint
        // made without them, still differentiates through the batch statistics.
        int st = dnnl_batch_normalization_forward_primitive_desc_create(fwd, dnnl.engine(), dnnl_forward_training,
                data, data, key.eps, key.backward ? flags : flags | dnnl_use_global_stats, null);
        if (st != dnnl_success) {
            LOG.debug("oneDNN has no batch normalisation for {} (status {}); using the Java kernel", key, st);
            return DnnlPlan.UNSUPPORTED;
        }
        DnnlPlan.Builder b;
        if (!key.backward) {
            b = new DnnlPlan.Builder(dnnl, fwd).add(DNNL_ARG_SRC, plain, data, true, key.layout)
                    .add(DNNL_ARG_MEAN, stat, stat, true, null).add(DNNL_ARG_VARIANCE, stat, stat, true, null);
            if (key.affine) {
                b.add(DNNL_ARG_SCALE, stat, stat, true, null).add(DNNL_ARG_SHIFT, stat, stat, true, null);
            }
            b.add(DNNL_ARG_DST, plain, data, false, key.layout);
        } else {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            st = dnnl_batch_normalization_backward_primitive_desc_create(pd, dnnl.engine(), dnnl_backward, data, data,
                    data, 0f, flags, fwd, null);
            if (st != dnnl_success) {
                LOG.debug("oneDNN has no batch normalisation backward for {} (status {})", key, st);
                return DnnlPlan.UNSUPPORTED;
            }
            b = new DnnlPlan.Builder(dnnl, pd).add(DNNL_ARG_SRC, plain, data, true, key.layout)
                    .add(DNNL_ARG_MEAN, stat, stat, true, null).add(DNNL_ARG_VARIANCE, stat, stat, true, null)
                    .add(DNNL_ARG_DIFF_DST, plain, data, true, key.layout);
            if (key.affine) {
                b.add(DNNL_ARG_SCALE, stat, stat, true, null);
            }
            b.add(DNNL_ARG_DIFF_SRC, plain, data, false, key.layout);
            if (key.affine) {
                b.add(DNNL_ARG_DIFF_SCALE, stat, stat, false, null).add(DNNL_ARG_DIFF_SHIFT, stat, stat, false, null);
            }
        }
        return b.build();
    }
}
