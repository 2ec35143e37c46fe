package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;
import static org.bytedeco.dnnl.global.dnnl.dnnl_a;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_backward_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_forward_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_relu_use_dst_for_bwd;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * ReLU's gradient through oneDNN's eltwise primitive, over contiguous runs of floats.
 *
 * <p>Why: the gradient {@code dOut where out > 0 else 0} is a select that JDK 17's C2 compiles to a branch, not a
 * vector blend; on random signs it mispredicts half the time (8 ms for 1.6M floats on 2 cores, against 1 ms for
 * ReLU itself). oneDNN's JIT kernel is a blend. ReLU itself stays in Java, which already runs at memory speed and
 * keeps {@code max(-0, 0) = +0}.
 */
final class DnnlEltwise {
    /** Below this many elements the Java loop wins: a primitive call costs a few microseconds. */
    static final int MIN_ELEMENTS = 1 << 14;

    private record Key(int n) {}

    /** The primitive, and a pool of argument sets so that threads run it at once (see {@link DnnlPlan}). */
    private static final class Plan implements DnnlPlanCache.Plan {
        final Dnnl dnnl;
        final dnnl_primitive primitive;
        /** The backward descriptor (which owns {@link #scratchpad}) and the forward one it was made from. */
        final dnnl_primitive_desc pd;

        final dnnl_primitive_desc forwardPd;
        final dnnl_memory_desc md;
        final dnnl_memory_desc scratchpad;
        final ConcurrentLinkedQueue<Args> idle = new ConcurrentLinkedQueue<>();
        final AtomicLong bytes = new AtomicLong();

        Plan(
                Dnnl dnnl,
                dnnl_primitive primitive,
                dnnl_primitive_desc pd,
                dnnl_primitive_desc forwardPd,
                dnnl_memory_desc md) {
            this.dnnl = dnnl;
            this.primitive = primitive;
            this.pd = pd;
            this.forwardPd = forwardPd;
            this.md = md;
            this.scratchpad = Dnnl.scratchpad(pd);
            idle.offer(new Args()); // made now, so the cache counts its bytes when it takes the plan in
        }

        @Override
        public long bytes() {
            return bytes.get();
        }

        @Override
        public void free() {
            for (Args a = idle.poll(); a != null; a = idle.poll()) {
                for (dnnl_memory m : a.memories) {
                    Dnnl.check(dnnl_memory_destroy(m), "dnnl_memory_destroy");
                }
                for (int j = 0; j < a.args.capacity(); j++) {
                    if (a.args.position(j).arg() == DNNL_ARG_SCRATCHPAD) {
                        Dnnl.check(dnnl_memory_destroy(a.args.memory()), "dnnl_memory_destroy");
                    }
                }
                a.args.position(0).close();
                a.scratchpadBuffer.close();
                Dnnl.check(dnnl_stream_destroy(a.stream), "dnnl_stream_destroy");
            }
            Dnnl.check(dnnl_primitive_destroy(primitive), "dnnl_primitive_destroy");
            Dnnl.check(dnnl_primitive_desc_destroy(pd), "dnnl_primitive_desc_destroy");
            Dnnl.check(dnnl_primitive_desc_destroy(forwardPd), "dnnl_primitive_desc_destroy");
            Dnnl.check(dnnl_memory_desc_destroy(md), "dnnl_memory_desc_destroy");
            bytes.set(0);
        }

        /** One execution's memories and scratchpad. */
        final class Args {
            final dnnl_memory[] memories = new dnnl_memory[IDS.length];
            final BytePointer scratchpadBuffer = new BytePointer(Math.max(1, dnnl_memory_desc_get_size(scratchpad)));
            final dnnl_exec_arg_t args;
            final dnnl_stream stream = dnnl.newStream();

            Args() {
                for (int i = 0; i < IDS.length; i++) {
                    memories[i] = dnnl.memory(md, null);
                }
                args = dnnl.exec(IDS, memories, scratchpad, scratchpadBuffer);
                bytes.addAndGet(scratchpadBuffer.capacity());
            }
        }

        void run(FloatPointer... data) {
            Args a = idle.poll();
            if (a == null) {
                a = new Args();
            }
            try {
                for (int i = 0; i < IDS.length; i++) {
                    Dnnl.check(dnnl_memory_set_data_handle(a.memories[i], data[i]), "dnnl_memory_set_data_handle");
                }
                var stream = a.stream;
                Dnnl.check(dnnl_primitive_execute(primitive, stream, (int) a.args.capacity(), a.args), "eltwise");
                Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait");
            } finally {
                idle.offer(a);
            }
        }
    }

    private static final int[] IDS = {DNNL_ARG_DIFF_DST, DNNL_ARG_DST, DNNL_ARG_DIFF_SRC};

    private final Dnnl dnnl;
    private final DnnlPlanCache plans;
    private final Function<Key, Plan> build = this::build;

    DnnlEltwise(Dnnl dnnl, DnnlPlanCache plans) {
        this.dnnl = dnnl;
        this.plans = plans;
    }

    /**
     * {@code out[i] = y[i] <= 0 ? 0 : dOut[i]}, {@code y} being ReLU's output: PyTorch's threshold_backward, which
     * passes the gradient where {@code y} is NaN (measured: oneDNN's kernel does, as the Java one now does too).
     */
    void reluBackward(CpuStorage dOut, int dOffset, CpuStorage y, int yOffset, CpuStorage out, int outOffset, int n) {
        DnnlPlanCache.Entry<Plan> e = plans.acquire(new Key(n), build);
        try {
            e.plan().run(at(dOut, dOffset), at(y, yOffset), at(out, outOffset));
        } finally {
            e.release();
        }
    }

    private static FloatPointer at(CpuStorage s, int offset) {
        return new FloatPointer(s.memory).position(offset);
    }

    private Plan build(Key key) {
        dnnl_memory_desc md = Dnnl.md(dnnl_a, key.n);
        dnnl_primitive_desc fwd = new dnnl_primitive_desc();
        Dnnl.check(
                dnnl_eltwise_forward_primitive_desc_create(
                        fwd,
                        dnnl.engine(),
                        dnnl_forward_training,
                        dnnl_eltwise_relu_use_dst_for_bwd,
                        md,
                        md,
                        0f,
                        0f,
                        dnnl.attr()),
                "eltwise forward descriptor");
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        Dnnl.check(
                dnnl_eltwise_backward_primitive_desc_create(
                        pd, dnnl.engine(), dnnl_eltwise_relu_use_dst_for_bwd, md, md, md, 0f, 0f, fwd, dnnl.attr()),
                "eltwise backward descriptor");
        return new Plan(dnnl, Dnnl.primitive(pd, "eltwise"), pd, fwd, md);
    }
}
