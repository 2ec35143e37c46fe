package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_clone;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_equal;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_query;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nChw16c;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nChw8c;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_dims;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_ndims_s32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_reorder_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * A blocked memory layout oneDNN chose for an activation (such as {@code nChw16c}), which a CPU storage may hold
 * its tensor in between oneDNN ops.
 *
 * <p>Only layouts of exactly the plain size are kept in a storage (no channel padding), so the storage needs no
 * more room. Everything that is not a oneDNN op sees plain NCHW: {@link CpuStorage#plain} reorders a storage back
 * ({@link #toPlain}) before any Java kernel, read or write touches it, while elementwise ops over whole storages of
 * one layout run on the blocked data as is (order does not matter to them). Instances are canonical per
 * descriptor ({@link Registry}), so "same layout" is an identity test.
 */
final class DnnlLayout {
    final dnnl_memory_desc blocked;
    final dnnl_memory_desc plain;
    final long bytes;
    /** {@code [N, C, H, W]} of the tensor. */
    final long[] dims;
    /**
     * B when the layout is oneDNN's {@code nChw<B>c} (channel blocks of B, each pixel's B channels adjacent), which
     * Java code may then walk itself; 0 for any other layout.
     */
    final int channelBlock;

    private final Dnnl dnnl;
    private final dnnl_primitive toPlain;
    private final dnnl_memory_desc scratchpad;
    /** Argument sets of the reorder to plain, one per concurrent caller (see {@link DnnlPlan}). */
    private final ConcurrentLinkedQueue<ToPlain> idle = new ConcurrentLinkedQueue<>();

    /** One execution's memories: the blocked source, the plain copy, the reorder's scratchpad. */
    private final class ToPlain {
        final BytePointer scratch = new BytePointer(bytes);
        final BytePointer scratchpadBuffer = new BytePointer(Math.max(1, dnnl_memory_desc_get_size(scratchpad)));
        final dnnl_memory from = dnnl.memory(blocked, null);
        final dnnl_stream stream = dnnl.newStream();
        final dnnl_exec_arg_t args = dnnl.exec(
                new int[] {DNNL_ARG_FROM, DNNL_ARG_TO},
                new dnnl_memory[] {from, dnnl.memory(plain, scratch)},
                scratchpad,
                scratchpadBuffer);
    }

    private DnnlLayout(Dnnl dnnl, dnnl_memory_desc blocked, dnnl_memory_desc plain) {
        this.dnnl = dnnl;
        // Copies: the descriptors given may belong to a plan's primitive descriptor, freed when the plan is evicted.
        this.blocked = copy(blocked);
        this.plain = copy(plain);
        this.bytes = dnnl_memory_desc_get_size(plain);
        this.dims = dims(plain);
        int block = 0;
        if (dims.length == 4) {
            for (int[] tb : new int[][] {{16, dnnl_nChw16c}, {8, dnnl_nChw8c}}) {
                if (dims[1] % tb[0] == 0 && dnnl_memory_desc_equal(blocked, Dnnl.md(tb[1], dims)) != 0) {
                    block = tb[0];
                }
            }
        }
        this.channelBlock = block;
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        Dnnl.check(
                dnnl_reorder_primitive_desc_create(pd, blocked, dnnl.engine(), plain, dnnl.engine(), dnnl.attr()),
                "reorder to plain");
        toPlain = Dnnl.primitive(pd, "reorder");
        scratchpad = Dnnl.scratchpad(pd);
    }

    private static dnnl_memory_desc copy(dnnl_memory_desc md) {
        dnnl_memory_desc c = new dnnl_memory_desc();
        Dnnl.check(dnnl_memory_desc_clone(c, md), "dnnl_memory_desc_clone");
        return c;
    }

    private static long[] dims(dnnl_memory_desc md) {
        IntPointer ndims = new IntPointer(1);
        Dnnl.check(dnnl_memory_desc_query(md, dnnl_query_ndims_s32, ndims), "dnnl_memory_desc_query ndims");
        PointerPointer<LongPointer> at = new PointerPointer<>(1);
        Dnnl.check(dnnl_memory_desc_query(md, dnnl_query_dims, at), "dnnl_memory_desc_query dims");
        LongPointer d = new LongPointer(at.get(0));
        long[] out = new long[ndims.get()];
        d.get(out);
        return out;
    }

    /** Rewrites {@code s}'s contents from this layout to plain order, in place (through a scratch copy). */
    void toPlain(Pointer s) {
        ToPlain t = idle.poll();
        if (t == null) {
            t = new ToPlain();
        }
        try {
            Dnnl.check(dnnl_memory_set_data_handle(t.from, s), "dnnl_memory_set_data_handle");
            var stream = t.stream;
            Dnnl.check(dnnl_primitive_execute(toPlain, stream, (int) t.args.capacity(), t.args), "reorder to plain");
            Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait");
            Pointer.memcpy(s, t.scratch, bytes);
        } finally {
            idle.offer(t);
        }
    }

    @Override
    public String toString() {
        return "DnnlLayout" + Arrays.toString(dims) + (channelBlock > 0 ? " nChw" + channelBlock + "c" : "");
    }

    /** The canonical layouts seen so far. */
    static final class Registry {
        /** {@code -Dgradus.dnnl.keepLayouts=false} reorders around every oneDNN op instead (for the ablation). */
        private static final boolean KEEP = Boolean.parseBoolean(System.getProperty("gradus.dnnl.keepLayouts", "true"));

        private final Dnnl dnnl;
        private final List<DnnlLayout> known = new ArrayList<>();

        Registry(Dnnl dnnl) {
            this.dnnl = dnnl;
        }

        /**
         * The canonical layout for {@code chosen}, or null when a storage cannot hold it: plain already, or of
         * another size than {@code plain}.
         */
        synchronized DnnlLayout of(dnnl_memory_desc chosen, dnnl_memory_desc plain) {
            if (!KEEP
                    || dnnl_memory_desc_equal(chosen, plain) != 0
                    || dnnl_memory_desc_get_size(chosen) != dnnl_memory_desc_get_size(plain)) {
                return null;
            }
            for (DnnlLayout l : known) {
                if (dnnl_memory_desc_equal(l.blocked, chosen) != 0) {
                    return l;
                }
            }
            DnnlLayout l = new DnnlLayout(dnnl, chosen, plain);
            known.add(l);
            return l;
        }
    }
}
