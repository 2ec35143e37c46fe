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
 * 17 ms forward and 15 ms backward per {@code bn-cnn} step on 2 cores. oneDNN returns the batch's mean and biased
 * variance; {@code 1/sqrt(var + eps)} and the running statistics (unbiased variance, momentum) are derived here, so
 * the results mean what {@link dev.gradus.spi.Backend#batchNormTrain} says. Its backward takes the variance, which
 * is rebuilt from the saved {@code invStd} with {@code eps = 0}, giving oneDNN the same {@code invStd} back.
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
        if ((gamma == null) != (beta == null) || (long) n * hw < 1 || c == 0) {
            return false;
        }
        DnnlPlan plan = plan(new Key(false, n, c, hw, gamma != null, layoutOf(x, n, c, hw), eps));
        if (plan == DnnlPlan.UNSUPPORTED) {
            return false;
        }
        CpuStorage var = (CpuStorage) backend.allocate(DType.FLOAT32, c);
        try {
            if (gamma != null) {
                plan.run(dnnl, x, gamma, beta, out, saveMean, var);
            } else {
                plan.run(dnnl, x, out, saveMean, var);
            }
            long m = (long) n * hw;
            for (int ch = 0; ch < c; ch++) {
                float v = var.f.get(ch);
                saveInvStd.f.put(ch, (float) (1.0 / Math.sqrt((double) v + eps)));
                if (runningMean != null) {
                    double unbiased = m > 1 ? (double) v * m / (m - 1) : v;
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
        int st = dnnl_batch_normalization_forward_primitive_desc_create(fwd, dnnl.engine(), dnnl_forward_training,
                data, data, key.eps, flags, null);
        if (st != dnnl_success) {
            LOG.debug("oneDNN has no batch normalisation for {} (status {}); using the Java kernel", key, st);
            return DnnlPlan.UNSUPPORTED;
        }
        DnnlPlan.Builder b;
        if (!key.backward) {
            b = new DnnlPlan.Builder(dnnl, fwd).add(DNNL_ARG_SRC, plain, data, true, key.layout);
            if (key.affine) {
                b.add(DNNL_ARG_SCALE, stat, stat, true, null).add(DNNL_ARG_SHIFT, stat, stat, true, null);
            }
            b.add(DNNL_ARG_DST, plain, data, false, key.layout).add(DNNL_ARG_MEAN, stat, stat, false, null)
                    .add(DNNL_ARG_VARIANCE, stat, stat, false, null);
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
