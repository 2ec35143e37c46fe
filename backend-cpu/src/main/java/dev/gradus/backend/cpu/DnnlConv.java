package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.dnnl_a;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_backward_data_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_backward_weights_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_direct;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_forward_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_relu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_format_tag_any;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_goihw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nChw16c;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nChw8c;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nchw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_oihw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_append_eltwise;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_set_post_ops;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_diff_dst_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_diff_src_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_diff_weights_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_dst_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_src_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_weights_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import dev.gradus.spi.ConvParams;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Convolution forward, backward-data and backward-weights (with bias) through oneDNN on dense NCHW storages.
 *
 * <p>Building a primitive descriptor costs 0.06-0.17 ms and a new shape's first primitive ~6 ms of JIT, so each
 * (pass, shapes, params) gets one primitive, made on first use and kept; every call only rebinds our native
 * buffers ({@code dnnl_memory_set_data_handle}), without copies. A geometry oneDNN does not implement is remembered
 * as such and the caller falls back to im2col.
 */
final class DnnlConv {
    private static final Logger LOG = LoggerFactory.getLogger(DnnlConv.class);

    enum Pass {
        FORWARD,
        BACKWARD_DATA,
        BACKWARD_WEIGHTS
    }

    /** One primitive's shapes; {@code relu} only for the forward pass (a ReLU post-op on its output). */
    private record Key(
            Pass pass,
            int n,
            int c,
            int h,
            int w,
            int k,
            int r,
            int s,
            int p,
            int q,
            ConvParams params,
            boolean bias,
            boolean relu) {}

    /** Marks a geometry oneDNN declined. */
    private final Dnnl dnnl;

    private final DnnlLayout.Registry layouts;
    private final DnnlPlanCache plans;
    private final Function<Key, DnnlPlan> build = this::build;
    private final LongAdder made = new LongAdder();

    DnnlConv(Dnnl dnnl, DnnlLayout.Registry layouts, DnnlPlanCache plans) {
        this.dnnl = dnnl;
        this.layouts = layouts;
        this.plans = plans;
    }

    /** Number of primitives made so far (each a JIT compile), including any evicted since. */
    int planCount() {
        return made.intValue();
    }

    /**
     * {@code out = conv(x, w) + bias}, then {@code max(out, 0)} when {@code relu} (fused: oneDNN applies it while the
     * output is still in registers); false when oneDNN does not implement this geometry.
     */
    boolean forward(ConvShapes shapes, CpuStorage x, CpuStorage w, CpuStorage bias, CpuStorage out, boolean relu) {
        return run(key(Pass.FORWARD, shapes, bias != null, relu), x, w, bias, out);
    }

    /** {@code dx = conv^T(dOut, w)}; false when oneDNN does not implement this geometry. */
    boolean backwardData(ConvShapes shapes, CpuStorage dOut, CpuStorage w, CpuStorage dx) {
        return run(key(Pass.BACKWARD_DATA, shapes, false, false), dOut, w, dx);
    }

    /** {@code dw} and, when not null, {@code dBias}; false when oneDNN does not implement this geometry. */
    boolean backwardWeights(ConvShapes shapes, CpuStorage x, CpuStorage dOut, CpuStorage dw, CpuStorage dBias) {
        return run(key(Pass.BACKWARD_WEIGHTS, shapes, dBias != null, false), x, dOut, dw, dBias);
    }

    /** Runs {@code key}'s primitive on {@code data} (nulls dropped); false when oneDNN declined the geometry. */
    private boolean run(Key key, CpuStorage... data) {
        DnnlPlanCache.Entry<DnnlPlan> e = plans.acquire(key, build);
        try {
            if (e.plan() == DnnlPlan.UNSUPPORTED) {
                return false;
            }
            e.plan().run(dnnl, data);
            return true;
        } finally {
            e.release();
        }
    }

    private static Key key(Pass pass, ConvShapes shapes, boolean bias, boolean relu) {
        int[] xs = shapes.x();
        int[] ws = shapes.w();
        int[] os = shapes.out();
        return new Key(pass, xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], os[2], os[3], shapes.p(), bias, relu);
    }

    /**
     * The descriptors of one convolution in oneDNN's terms: {@code plain} as our storages hold the tensors
     * (NCHW, OIHW), {@code wanted} what the primitive is asked for: any layout it likes for tensors of 8 channels
     * or more. oneDNN's plain-layout convolutions ran 20-400x slower than its blocked ones on an AVX-512 Xeon, and
     * a tensor of fewer channels would be padded to the block (measured on Zen 3: use NCHW there).
     */
    private record Descs(
            dnnl_memory_desc[] plain,
            dnnl_memory_desc[] wanted,
            long[] strides,
            long[] dilates,
            long[] padL,
            long[] padR) {
        static final int SRC = 0;
        static final int WEIGHTS = 1;
        static final int BIAS = 2;
        static final int DST = 3;
    }

    private static dnnl_memory_desc wanted(int channels, dnnl_memory_desc plain, long... dims) {
        return channels >= 8 ? Dnnl.md(dnnl_format_tag_any, dims) : plain;
    }

    private static Descs descs(Key k) {
        ConvParams p = k.params;
        int g = p.groups();
        long[] wDims = g == 1 ? new long[] {k.k, k.c, k.r, k.s} : new long[] {g, k.k / g, k.c / g, k.r, k.s};
        dnnl_memory_desc src = Dnnl.md(dnnl_nchw, k.n, k.c, k.h, k.w);
        dnnl_memory_desc weights = Dnnl.md(g == 1 ? dnnl_oihw : dnnl_goihw, wDims);
        dnnl_memory_desc bias = k.bias ? Dnnl.md(dnnl_a, k.k) : null;
        dnnl_memory_desc dst = Dnnl.md(dnnl_nchw, k.n, k.k, k.p, k.q);
        dnnl_memory_desc[] plain = {src, weights, bias, dst};
        dnnl_memory_desc[] wanted = {
            wanted(k.c, src, k.n, k.c, k.h, k.w),
            wanted(k.k, weights, wDims),
            bias,
            wanted(k.k, dst, k.n, k.k, k.p, k.q)
        };
        // oneDNN wants the padding on both sides consistent with the output size; PyTorch's floor division may
        // leave fewer rows on the bottom/right than the top/left padding.
        long padB = (long) (k.p - 1) * p.strideH() + (long) (k.r - 1) * p.dilationH() + 1 - k.h - p.padH();
        long padR = (long) (k.q - 1) * p.strideW() + (long) (k.s - 1) * p.dilationW() + 1 - k.w - p.padW();
        return new Descs(
                plain,
                wanted,
                new long[] {p.strideH(), p.strideW()},
                new long[] {p.dilationH() - 1, p.dilationW() - 1},
                new long[] {p.padH(), p.padW()},
                new long[] {padB, padR});
    }

    private DnnlPlan build(Key key) {
        Descs d = descs(key);
        if (d.padR[0] < 0 || d.padR[1] < 0) {
            return DnnlPlan.UNSUPPORTED;
        }
        dnnl_memory_desc[] w = d.wanted;
        dnnl_primitive_attr attr = key.relu ? reluPostOp() : dnnl.attr();
        dnnl_memory_desc[] wf = w;
        Choice forward;
        try {
            // Asked for any output layout, oneDNN on AVX2 takes its gemm kernel for a plain input of few channels
            // (conv1), in plain layouts; asked for an output in channel blocks it takes its direct JIT kernel.
            forward = firstDirect(
                    outputCandidates(key, wf[Descs.DST]),
                    (pd, dst) -> dnnl_convolution_forward_primitive_desc_create(
                            pd,
                            dnnl.engine(),
                            dnnl_forward_training,
                            dnnl_convolution_direct,
                            wf[Descs.SRC],
                            wf[Descs.WEIGHTS],
                            key.pass == Pass.FORWARD ? wf[Descs.BIAS] : null,
                            dst,
                            d.strides,
                            d.dilates,
                            d.padL,
                            d.padR,
                            attr));
        } finally {
            if (key.relu) {
                dnnl_primitive_attr_destroy(attr); // the descriptors keep their own copies
            }
        }
        dnnl_primitive_desc fwd = forward.pd();
        if (fwd == null) {
            return declined(key, forward.status());
        }
        int st = dnnl_success;
        // The backward passes take the activations in the layouts the forward pass chose, which is where the
        // forward left them (measured: letting backward-weights pick its own diff_dst layout cost two 0.75 ms
        // reorders of conv1's 6.4 MB gradient per step).
        if (key.pass != Pass.FORWARD) {
            w = w.clone();
            w[Descs.SRC] = dnnl_primitive_desc_query_md(fwd, dnnl_query_src_md, 0);
            w[Descs.DST] = dnnl_primitive_desc_query_md(fwd, dnnl_query_dst_md, 0);
            if (key.pass == Pass.BACKWARD_DATA && key.c < 8) {
                // Measured for conv1 (C = 1) on 2 cores: a plain diff_src gets oneDNN's reference kernel (352 ms),
                // NHWC too (560 ms), its padded blocked layout 3.5 ms plus a 2.3 ms reorder back; im2col takes 3.7.
                return declined(key, -1);
            }
        }
        dnnl_primitive_desc pd;
        // Per argument, inputs first: which tensor, its oneDNN argument id, and the query giving its chosen layout.
        int[] tensors;
        int[] argIds;
        int[] queries;
        int[] queryIndex;
        int inputs;
        switch (key.pass) {
            case FORWARD -> {
                pd = fwd;
                tensors = new int[] {Descs.SRC, Descs.WEIGHTS, Descs.BIAS, Descs.DST};
                argIds = new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST};
                queries =
                        new int[] {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_weights_md, dnnl_query_dst_md};
                queryIndex = new int[] {0, 0, 1, 0};
                inputs = 3;
            }
            case BACKWARD_DATA -> {
                pd = new dnnl_primitive_desc();
                st = dnnl_convolution_backward_data_primitive_desc_create(
                        pd,
                        dnnl.engine(),
                        dnnl_convolution_direct,
                        w[Descs.SRC],
                        w[Descs.WEIGHTS],
                        w[Descs.DST],
                        d.strides,
                        d.dilates,
                        d.padL,
                        d.padR,
                        fwd,
                        dnnl.attr());
                tensors = new int[] {Descs.DST, Descs.WEIGHTS, Descs.SRC};
                argIds = new int[] {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
                queries = new int[] {dnnl_query_diff_dst_md, dnnl_query_weights_md, dnnl_query_diff_src_md};
                queryIndex = new int[] {0, 0, 0};
                inputs = 2;
            }
            case BACKWARD_WEIGHTS -> {
                // Measured on AVX2 for conv1 (plain input, output in 8-channel blocks): with the forward's diff_dst
                // layout oneDNN offers only its reference kernel; asked for any, its direct JIT kernel, which takes
                // a reorder of diff_dst (0.6 ms) and still beats im2col (4 ms).
                dnnl_memory_desc[] wb = w;
                Choice c = firstDirect(
                        List.of(wb[Descs.DST], d.wanted[Descs.DST]),
                        (p, dst) -> dnnl_convolution_backward_weights_primitive_desc_create(
                                p,
                                dnnl.engine(),
                                dnnl_convolution_direct,
                                wb[Descs.SRC],
                                wb[Descs.WEIGHTS],
                                wb[Descs.BIAS],
                                dst,
                                d.strides,
                                d.dilates,
                                d.padL,
                                d.padR,
                                fwd,
                                dnnl.attr()));
                pd = c.pd();
                st = c.status();
                tensors = new int[] {Descs.SRC, Descs.DST, Descs.WEIGHTS, Descs.BIAS};
                argIds = new int[] {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS};
                queries = new int[] {
                    dnnl_query_src_md, dnnl_query_diff_dst_md, dnnl_query_diff_weights_md, dnnl_query_diff_weights_md
                };
                queryIndex = new int[] {0, 0, 0, 1};
                inputs = 2;
            }
            default -> throw new AssertionError(key.pass);
        }
        if (st != dnnl_success) {
            return declined(key, st);
        }
        String impl = Dnnl.preferNonGemm(pd);
        if (impl.contains("ref")) {
            // oneDNN's reference kernels (picked for plain layouts of few channels) ran 20-400x slower than im2col.
            LOG.debug("oneDNN would run {} with its {} kernel; using im2col for it", key, impl);
            return DnnlPlan.UNSUPPORTED;
        }
        if (key.pass == Pass.BACKWARD_WEIGHTS && impl.contains("gemm")) {
            // oneDNN's gemm-based weight gradient (its choice on AVX2 for conv1's single input channel) reduces over
            // its OpenMP threads with spinning barriers: 11.5 ms a step alone on 2 cores, 430 ms beside a second
            // training, whose threads deschedule the spinner's peer (Zen 4 under ONEDNN_MAX_CPU_ISA=AVX2).
            LOG.debug("oneDNN would run {} with its {} kernel; using im2col for it", key, impl);
            return DnnlPlan.UNSUPPORTED;
        }
        DnnlPlan.Builder b = new DnnlPlan.Builder(dnnl, pd);
        if (pd != fwd) {
            b.alsoOwns(fwd); // the backward passes' hint
        }
        made.increment();
        for (int i = 0; i < tensors.length; i++) {
            dnnl_memory_desc plain = d.plain[tensors[i]];
            if (plain == null) {
                continue; // no bias
            }
            dnnl_memory_desc chosen = dnnl_primitive_desc_query_md(pd, queries[i], queryIndex[i]);
            boolean activation = tensors[i] == Descs.SRC || tensors[i] == Descs.DST;
            b.add(argIds[i], plain, chosen, i < inputs, activation ? layouts.of(chosen, plain) : null);
        }
        return b.build();
    }

    /** Makes a primitive descriptor into {@code pd} for output (or output gradient) layout {@code dst}. */
    @FunctionalInterface
    private interface Maker {
        int make(dnnl_primitive_desc pd, dnnl_memory_desc dst);
    }

    /** A descriptor oneDNN made (null when none) and the status of that attempt (else of the first failure). */
    private record Choice(dnnl_primitive_desc pd, int status) {}

    /**
     * The first of {@code layouts} whose descriptor runs a direct kernel ({@link Dnnl#preferNonGemm}), else the
     * first oneDNN made at all, else none with the first failure's status.
     */
    private static Choice firstDirect(List<dnnl_memory_desc> layouts, Maker maker) {
        Choice first = null;
        int failure = -1;
        for (dnnl_memory_desc dst : layouts) {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            int st = maker.make(pd, dst);
            if (st != dnnl_success) {
                failure = first == null && failure == -1 ? st : failure;
                continue;
            }
            if (direct(Dnnl.preferNonGemm(pd))) {
                return new Choice(pd, st);
            }
            first = first != null ? first : new Choice(pd, st);
        }
        return first != null ? first : new Choice(null, failure);
    }

    /** True for an implementation that is neither gemm-based nor the reference one. */
    private static boolean direct(String impl) {
        return !impl.contains("gemm") && !impl.contains("ref");
    }

    /** The output layouts to ask the forward pass for, in order: {@code wanted}, then channel blocks of 16 and 8. */
    private static List<dnnl_memory_desc> outputCandidates(Key k, dnnl_memory_desc wanted) {
        List<dnnl_memory_desc> out = new ArrayList<>(List.of(wanted));
        if (k.k >= 8) {
            out.add(Dnnl.md(dnnl_nChw16c, k.n, k.k, k.p, k.q));
            out.add(Dnnl.md(dnnl_nChw8c, k.n, k.k, k.p, k.q));
        }
        return out;
    }

    /** Attributes asking for {@code max(dst, 0)} as a post-op, with a user scratchpad as {@link Dnnl#attr()}. */
    private static dnnl_primitive_attr reluPostOp() {
        dnnl_post_ops ops = new dnnl_post_ops();
        Dnnl.check(dnnl_post_ops_create(ops), "post-ops");
        Dnnl.check(dnnl_post_ops_append_eltwise(ops, dnnl_eltwise_relu, 0f, 0f), "ReLU post-op");
        dnnl_primitive_attr attr = Dnnl.userScratchpad(null);
        Dnnl.check(dnnl_primitive_attr_set_post_ops(attr, ops), "post-ops attribute");
        dnnl_post_ops_destroy(ops); // copied into attr
        return attr;
    }

    private static DnnlPlan declined(Key key, int status) {
        LOG.debug("oneDNN has no convolution for {} (status {}); using im2col for it", key, status);
        return DnnlPlan.UNSUPPORTED;
    }
}
