package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;
import static dev.gradus.backend.cpu.CpuStorage.stored;
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
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
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

    private record Key(boolean backward, int n, int c, int hw, boolean affine, DnnlLayout layout, float eps) {}

    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final DnnlPlanCache plans;
    private final Function<Key, DnnlPlan> build = this::build;

    DnnlBatchNorm(Dnnl dnnl, CpuBackend backend, DnnlPlanCache plans) {
        this.dnnl = dnnl;
        this.backend = backend;
        this.plans = plans;
    }

    /** See {@link dev.gradus.spi.Backend#batchNormTrain}; false when oneDNN declines (nothing done then). */
    boolean train(CpuStorage x, CpuStorage out, BnCall b) {
        // The statistics read x's blocked contents in Java: held against conversion by another thread until done.
        try (CpuStorage.BlockedReads held = CpuStorage.readBlocked(x)) {
            return trainHeld(x, out, b, held);
        }
    }

    private boolean trainHeld(CpuStorage x, CpuStorage out, BnCall b, CpuStorage.BlockedReads held) {
        int n = b.n();
        int c = b.c();
        int hw = b.hw();
        DnnlLayout layout = layoutOf(x, n, c, hw);
        // The statistics below walk nChw<B>c; plain input (BatchNorm1d's [N, C], small) takes the Java kernel's
        // forward, and its backward still comes here.
        int block = layout != null ? layout.channelBlock : 0;
        boolean affine = b.gamma() != null;
        if (affine != (b.beta() != null)
                || (long) n * hw < 1
                || c == 0
                || block == 0
                || x.numel() != (long) n * c * hw) {
            return false;
        }
        DnnlPlanCache.Entry<DnnlPlan> e = plans.acquire(new Key(false, n, c, hw, affine, layout, b.eps()), build);
        try {
            return e.plan() != DnnlPlan.UNSUPPORTED && train(e.plan(), x, out, b, held, block);
        } finally {
            e.release();
        }
    }

    private boolean train(
            DnnlPlan plan, CpuStorage x, CpuStorage out, BnCall b, CpuStorage.BlockedReads held, int block) {
        int n = b.n();
        int c = b.c();
        int hw = b.hw();
        CpuStorage var = (CpuStorage) backend.allocate(DType.FLOAT32, c);
        try {
            double[] variance = statistics(held.view(x), n, c, hw, block, b.saveMean());
            for (int ch = 0; ch < c; ch++) {
                plain(var).f.put(ch, (float) variance[ch]);
            }
            plan.run(dnnl, x, stored(b.saveMean()), var, stored(b.gamma()), stored(b.beta()), out);
            for (int ch = 0; ch < c; ch++) {
                double v = variance[ch];
                b.save(ch, b.saveMean().f.get(ch), v, (float) (1.0 / Math.sqrt(v + b.eps())));
            }
        } finally {
            backend.free(var);
        }
        return true;
    }

    /** See {@link dev.gradus.spi.Backend#batchNormBackward}; false when oneDNN declines (nothing done then). */
    boolean backward(CpuStorage x, CpuStorage dOut, BnCall b, CpuStorage dx, CpuStorage dGamma, CpuStorage dBeta) {
        int n = b.n();
        int c = b.c();
        int hw = b.hw();
        boolean affine = b.gamma() != null;
        if (affine && (dGamma == null || dBeta == null) || (long) n * hw < 1 || c == 0) {
            return false;
        }
        DnnlLayout layout = layoutOf(x, n, c, hw);
        if (layout == null && hw < CpuBatchNorm.SMALL_PLANE) {
            return false; // the Java row kernel: oneDNN took 1 ms for BatchNorm1d's [128, 256], Java 0.1 ms
        }
        DnnlPlanCache.Entry<DnnlPlan> e = plans.acquire(new Key(true, n, c, hw, affine, layout, 0f), build);
        try {
            return e.plan() != DnnlPlan.UNSUPPORTED && backward(e.plan(), x, dOut, b, dx, dGamma, dBeta);
        } finally {
            e.release();
        }
    }

    private boolean backward(
            DnnlPlan plan,
            CpuStorage x,
            CpuStorage dOut,
            BnCall b,
            CpuStorage dx,
            CpuStorage dGamma,
            CpuStorage dBeta) {
        int c = b.c();
        boolean affine = b.gamma() != null;
        CpuStorage var = (CpuStorage) backend.allocate(DType.FLOAT32, c);
        try {
            for (int ch = 0; ch < c; ch++) {
                float inv = b.saveInvStd().f.get(ch);
                plain(var).f.put(ch, 1f / (inv * inv));
            }
            // Without affine parameters dGamma and dBeta may still be given: the plan has no slot for them.
            plan.run(
                    dnnl,
                    x,
                    stored(b.saveMean()),
                    var,
                    dOut,
                    stored(b.gamma()),
                    dx,
                    affine ? dGamma : null,
                    affine ? dBeta : null);
        } finally {
            backend.free(var);
        }
        return true;
    }

    /**
     * Per-channel mean (written to {@code mean}) and biased variance (returned) of {@code x} held in
     * {@code nChw<block>c}. Each image's block of channels is summed once in float, as deviations from its first
     * pixel (sums and squares: a shift taken from the data keeps them from cancelling), and the images' moments are
     * combined in double (Chan et al.'s pairwise update), so {@code x} is read from memory once. Why not oneDNN's
     * statistics: it sums in float throughout, 2e-5 relative error in {@code invStd} on activations of mean 5 and
     * std 0.5, which moved bn-cnn's loss by 2.6e-4 within five Adam steps against emulated CUDA (and 8.5e-6 in the
     * mean of {@code DnnlBatchNormTest}'s batch, against 1e-6 here). Threads take ranges of images and their partial
     * moments are added in range order, so results do not depend on timing.
     */
    private double[] statistics(CpuStorage.Blocked x, int n, int c, int hw, int block, CpuStorage.Plain mean) {
        Map<Integer, double[][]> parts = new ConcurrentHashMap<>();
        backend.parallel()
                .forRange(n, (long) c * hw * 2, (from, to) -> parts.put(from, moments(x, from, to, c, hw, block)));
        // Per channel: the sum of x and the sum of squares around each image's own mean, and the sum over images
        // of hw * imageMean^2 (for the between-image part of the variance).
        double[] sum = new double[c];
        double[] within = new double[c];
        double[] sumSqMeans = new double[c];
        parts.keySet().stream().sorted().forEach(k -> {
            double[][] part = parts.get(k);
            for (int ch = 0; ch < c; ch++) {
                sum[ch] += part[0][ch];
                within[ch] += part[1][ch];
                sumSqMeans[ch] += part[2][ch];
            }
        });
        long m = (long) n * hw;
        double[] vars = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double mu = sum[ch] / m;
            mean.f.put(ch, (float) mu);
            vars[ch] = Math.max(0, (within[ch] + sumSqMeans[ch] - m * mu * mu) / m);
        }
        return vars;
    }

    /** Row length of the vectorised loops: 256 floats, 16 (or 32) pixels of a channel block. */
    private static final int ROW = 256;

    /**
     * For images {@code [from, to)}, per channel: the sum of {@code x}, the sum of squares around each image's
     * mean, and the sum of {@code hw * imageMean^2}. The loops add whole rows into accumulators at the same index,
     * which C2 vectorises (a row read at an offset into a larger array is not, and ran 3x slower).
     */
    private static double[][] moments(CpuStorage.Blocked x, int from, int to, int c, int hw, int block) {
        int blocks = c / block;
        int len = hw * block;
        double[][] out = new double[3][c];
        float[] row = new float[ROW];
        float[] acc1 = new float[ROW];
        float[] acc2 = new float[ROW];
        float[] centre = new float[ROW];
        for (int i = from; i < to; i++) {
            for (int cb = 0; cb < blocks; cb++) {
                int base = (i * blocks + cb) * len;
                // One pass, around a shift: the image's first pixel of each channel. Deviations from a value of
                // the data itself keep the float sums small (no cancellation however far the data sits from 0).
                for (int j = 0; j < block; j++) {
                    centre[j] = x.f().get(base + j);
                }
                for (int p = block; p < ROW; p += block) {
                    System.arraycopy(centre, 0, centre, p, block);
                }
                Arrays.fill(acc1, 0f);
                Arrays.fill(acc2, 0f);
                for (int o = 0; o < len; o += ROW) {
                    int l = Math.min(ROW, len - o);
                    x.f().get(base + o, row, 0, l);
                    addDeviations(acc1, acc2, row, centre, l);
                }
                for (int j = 0; j < block; j++) {
                    int ch = cb * block + j;
                    double d = fold(acc1, j, block); // how far the image's mean is from the shift, times hw
                    double imageMean = centre[j] + d / hw;
                    out[0][ch] += imageMean * hw;
                    out[1][ch] += Math.max(0, fold(acc2, j, block) - d * d / hw);
                    out[2][ch] += imageMean * imageMean * hw;
                }
            }
        }
        return out;
    }

    private static void addDeviations(float[] acc1, float[] acc2, float[] row, float[] centre, int l) {
        for (int k = 0; k < l; k++) {
            float d = row[k] - centre[k];
            acc1[k] += d;
            acc2[k] += d * d;
        }
    }

    /** Lane {@code j}'s total over a row of {@code block}-wide pixels. */
    private static float fold(float[] acc, int j, int block) {
        float s = 0;
        for (int p = j; p < ROW; p += block) {
            s += acc[p];
        }
        return s;
    }

    /** The blocked layout {@code x} is held in, if it is this whole {@code [n, c, hw]} block; else null. */
    private static DnnlLayout layoutOf(CpuStorage x, int n, int c, int hw) {
        DnnlLayout l = x.layout();
        return l != null && x.numel() == (long) n * c * hw && l.bytes == (long) n * c * hw * Float.BYTES ? l : null;
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
        int st = dnnl_batch_normalization_forward_primitive_desc_create(
                fwd,
                dnnl.engine(),
                dnnl_forward_training,
                data,
                data,
                key.eps,
                key.backward ? flags : flags | dnnl_use_global_stats,
                dnnl.attr());
        if (st != dnnl_success) {
            LOG.debug("oneDNN has no batch normalisation for {} (status {}); using the Java kernel", key, st);
            return DnnlPlan.UNSUPPORTED;
        }
        DnnlPlan.Builder b;
        if (!key.backward) {
            b = new DnnlPlan.Builder(dnnl, fwd)
                    .add(DNNL_ARG_SRC, plain, data, true, key.layout)
                    .add(DNNL_ARG_MEAN, stat, stat, true, null)
                    .add(DNNL_ARG_VARIANCE, stat, stat, true, null);
            if (key.affine) {
                b.add(DNNL_ARG_SCALE, stat, stat, true, null).add(DNNL_ARG_SHIFT, stat, stat, true, null);
            }
            b.add(DNNL_ARG_DST, plain, data, false, key.layout);
        } else {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            st = dnnl_batch_normalization_backward_primitive_desc_create(
                    pd, dnnl.engine(), dnnl_backward, data, data, data, 0f, flags, fwd, dnnl.attr());
            if (st != dnnl_success) {
                LOG.debug("oneDNN has no batch normalisation backward for {} (status {})", key, st);
                return DnnlPlan.UNSUPPORTED;
            }
            b = new DnnlPlan.Builder(dnnl, pd)
                    .alsoOwns(fwd)
                    .add(DNNL_ARG_SRC, plain, data, true, key.layout)
                    .add(DNNL_ARG_MEAN, stat, stat, true, null)
                    .add(DNNL_ARG_VARIANCE, stat, stat, true, null)
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
