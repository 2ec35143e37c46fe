package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_format_tag_any;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nchw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_pooling_backward_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_pooling_forward_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_pooling_max;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_dst_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_workspace_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import dev.gradus.spi.PoolParams;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Max pooling through oneDNN, for inputs a oneDNN convolution left in a blocked layout.
 *
 * <p>Why only those: on plain NCHW oneDNN's pooling ran slower than our Java loop (7.5 vs ~3 ms for the {@code cnn}
 * example's first pool), on its blocked layout 0.22 ms. The indices of the maxima stay in oneDNN's workspace,
 * held in the argmax storage (at most its size), which only the matching backward reads.
 */
final class DnnlPool {
    private static final Logger LOG = LoggerFactory.getLogger(DnnlPool.class);

    /** One pooling's shapes, and the bytes of its argmax storage (oneDNN's workspace must fit). */
    private record Key(
            int n, int c, int h, int w, int oh, int ow, PoolParams params, DnnlLayout src, long argmaxBytes) {}

    /**
     * A forward plan with what its backward needs, which is built on first use; or, with no forward plan, a geometry
     * oneDNN declined.
     */
    private final class Entry implements DnnlPlanCache.Plan {
        final Key key;
        final DnnlPlan forward;
        final dnnl_primitive_desc forwardPd;
        final dnnl_memory_desc dst;
        final dnnl_memory_desc workspace;
        volatile DnnlPlan backward;

        Entry(
                Key key,
                DnnlPlan forward,
                dnnl_primitive_desc forwardPd,
                dnnl_memory_desc dst,
                dnnl_memory_desc workspace) {
            this.key = key;
            this.forward = forward;
            this.forwardPd = forwardPd;
            this.dst = dst;
            this.workspace = workspace;
        }

        @Override
        public long bytes() {
            DnnlPlan b = backward;
            return (forward == null ? 0 : forward.bytes()) + (b == null ? 0 : b.bytes());
        }

        /** Frees the backward plan, then the forward one, whose descriptor the backward was made from. */
        @Override
        public synchronized void free() {
            if (backward != null) {
                backward.free();
            }
            if (forward != null) {
                forward.free();
            }
        }

        synchronized DnnlPlan backward() {
            if (backward == null) {
                Geometry g = new Geometry(key);
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                Dnnl.check(
                        dnnl_pooling_backward_primitive_desc_create(
                                pd,
                                dnnl.engine(),
                                dnnl_pooling_max,
                                key.src.blocked,
                                dst,
                                g.strides,
                                g.kernel,
                                g.dilation,
                                g.padL,
                                g.padR,
                                forwardPd,
                                dnnl.attr()),
                        "pooling backward descriptor " + key);
                backward = new DnnlPlan.Builder(dnnl, pd)
                        .tag(key)
                        .add(DNNL_ARG_DIFF_DST, g.plainDst, dst, true, layouts.of(dst, g.plainDst))
                        .addWorkspace(DNNL_ARG_WORKSPACE, workspace, true)
                        .add(DNNL_ARG_DIFF_SRC, key.src.plain, key.src.blocked, false, key.src)
                        .build();
            }
            return backward;
        }
    }

    /** The pooling window in oneDNN's terms. */
    private static final class Geometry {
        final long[] strides;
        final long[] kernel;
        final long[] dilation = {0, 0};
        final long[] padL;
        final long[] padR;
        final dnnl_memory_desc plainDst;

        Geometry(Key k) {
            PoolParams p = k.params;
            strides = new long[] {p.strideH(), p.strideW()};
            kernel = new long[] {p.kernelH(), p.kernelW()};
            padL = new long[] {p.padH(), p.padW()};
            // Floor mode may leave the last rows and columns out (7 -> 3 with a 2x2 window): negative padding.
            padR = new long[] {
                (long) (k.oh - 1) * p.strideH() + p.kernelH() - k.h - p.padH(),
                (long) (k.ow - 1) * p.strideW() + p.kernelW() - k.w - p.padW()
            };
            plainDst = Dnnl.md(dnnl_nchw, k.n, k.c, k.oh, k.ow);
        }
    }

    private final Dnnl dnnl;
    private final DnnlLayout.Registry layouts;
    private final DnnlPlanCache plans;
    private final Function<Key, Entry> build = this::build;
    private final LongAdder calls = new LongAdder();

    DnnlPool(Dnnl dnnl, DnnlLayout.Registry layouts, DnnlPlanCache plans) {
        this.dnnl = dnnl;
        this.layouts = layouts;
        this.plans = plans;
    }

    /**
     * Max pooling of {@code x} held in a blocked layout, indices into {@code argmax}'s bytes; false (nothing done)
     * when {@code x} is plain or oneDNN declines the geometry.
     */
    boolean maxForward(CpuStorage x, int[] xs, CpuStorage out, int[] os, CpuStorage argmax, PoolParams p) {
        DnnlLayout src = x.layout();
        if (src == null || x.numel() != (long) xs[0] * xs[1] * xs[2] * xs[3]) {
            return false;
        }
        Key key = new Key(xs[0], xs[1], xs[2], xs[3], os[2], os[3], p, src, (long) argmax.numel() * Integer.BYTES);
        DnnlPlanCache.Entry<Entry> e = plans.acquire(key, build);
        try {
            if (e.plan().forward == null) {
                return false;
            }
            e.plan().forward.run(dnnl, x, out, argmax);
        } finally {
            e.release();
        }
        calls.increment();
        return true;
    }

    /** Gradient of {@link #maxForward}; false when {@code argmax} holds no oneDNN workspace. */
    boolean maxBackward(CpuStorage dOut, CpuStorage argmax, CpuStorage dx) {
        DnnlPlan fwd = argmax.workspaceOf();
        if (fwd == null) {
            return false;
        }
        // The forward plan may have been evicted since: its key makes the same one again (same workspace format).
        if (!(fwd.tag() instanceof Key key)) {
            throw new IllegalStateException("cpu backend: max-pooling workspace of an unknown oneDNN plan");
        }
        DnnlPlanCache.Entry<Entry> e = plans.acquire(key, build);
        try {
            if (e.plan().forward == null) {
                throw new IllegalStateException("cpu backend: oneDNN declined a max pooling it ran before: " + key);
            }
            e.plan().backward().run(dnnl, dOut, argmax, dx);
        } finally {
            e.release();
        }
        calls.increment();
        return true;
    }

    /** Pooling passes run through oneDNN so far. */
    long calls() {
        return calls.sum();
    }

    private Entry build(Key key) {
        Geometry g = new Geometry(key);
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        dnnl_memory_desc anyDst = Dnnl.md(dnnl_format_tag_any, key.n, key.c, key.oh, key.ow);
        int st = dnnl_pooling_forward_primitive_desc_create(
                pd,
                dnnl.engine(),
                dnnl_forward_training,
                dnnl_pooling_max,
                key.src.blocked,
                anyDst,
                g.strides,
                g.kernel,
                g.dilation,
                g.padL,
                g.padR,
                dnnl.attr());
        if (st != dnnl_success) {
            LOG.debug("oneDNN has no max pooling for {} (status {}); using the Java kernel", key, st);
            return new Entry(key, null, null, null, null);
        }
        dnnl_memory_desc dst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
        dnnl_memory_desc ws = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
        if (dnnl_memory_desc_get_size(ws) > key.argmaxBytes) {
            LOG.debug("oneDNN's pooling workspace for {} exceeds the argmax storage; using the Java kernel", key);
            return new Entry(key, null, null, null, null);
        }
        DnnlPlan fwd = new DnnlPlan.Builder(dnnl, pd)
                .tag(key)
                .add(DNNL_ARG_SRC, key.src.plain, key.src.blocked, true, key.src)
                .add(DNNL_ARG_DST, g.plainDst, dst, false, layouts.of(dst, g.plainDst))
                .addWorkspace(DNNL_ARG_WORKSPACE, ws, false)
                .build();
        return new Entry(key, fwd, pd, dst, ws);
    }
}
