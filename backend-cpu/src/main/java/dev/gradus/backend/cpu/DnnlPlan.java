package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_equal;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_reorder_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * One ready oneDNN primitive and its arguments, made once per shape; each call only rebinds our storages.
 *
 * <p>Per argument: a memory wrapping the caller's plain buffer and, when the primitive chose another layout, a
 * memory in that layout with a reorder through scratch. An activation whose chosen layout fits its storage
 * ({@code keep}) is read and written in place in that layout instead, so the next oneDNN op takes it without a
 * reorder. A workspace argument (max pooling's) is bound to its storage as is.
 */
final class DnnlPlan {
    /** Marks a geometry oneDNN declined. */
    static final DnnlPlan UNSUPPORTED = new DnnlPlan(null, new Arg[0], 0, null);

    private static final class Arg {
        final dnnl_memory user;
        final dnnl_memory inner;
        final dnnl_primitive reorder;
        final dnnl_exec_arg_t reorderArgs;
        final BytePointer scratch;
        final DnnlLayout keep;
        final long numel;
        final boolean workspace;

        Arg(
                dnnl_memory user,
                dnnl_memory inner,
                dnnl_primitive reorder,
                dnnl_exec_arg_t reorderArgs,
                BytePointer scratch,
                DnnlLayout keep,
                long numel,
                boolean workspace) {
            this.user = user;
            this.inner = inner;
            this.reorder = reorder;
            this.reorderArgs = reorderArgs;
            this.scratch = scratch;
            this.keep = keep;
            this.numel = numel;
            this.workspace = workspace;
        }

        /** True when {@code s} can hold (or holds) this argument in the kept layout. */
        boolean inPlace(CpuStorage s) {
            return keep != null && s.numel() == numel;
        }
    }

    private final dnnl_primitive primitive;
    private final Arg[] args;
    private final int inputs;
    private final dnnl_exec_arg_t execArgs;

    private DnnlPlan(dnnl_primitive primitive, Arg[] args, int inputs, dnnl_exec_arg_t execArgs) {
        this.primitive = primitive;
        this.args = args;
        this.inputs = inputs;
        this.execArgs = execArgs;
    }

    /**
     * Runs on {@code data} (one storage per argument, in the order added, inputs first): inputs not already in the
     * primitive's layout are reordered into it, outputs are written in place when their layout fits the storage,
     * else reordered back to plain. Null storages are dropped first, so a plan made without an optional argument
     * (a bias, batch norm's scale and shift) takes the same call. One caller at a time per plan (scratch is shared).
     */
    synchronized void run(Dnnl dnnl, CpuStorage... given) {
        CpuStorage[] data = given;
        if (Arrays.asList(given).contains(null)) { // copies only for a call with an absent argument
            data = Arrays.stream(given).filter(Objects::nonNull).toArray(CpuStorage[]::new);
        }
        var stream = dnnl.stream();
        for (int i = 0; i < inputs; i++) {
            Arg a = args[i];
            CpuStorage s = data[i];
            if (a.workspace) {
                bind(a.user, s.memory);
            } else if (a.inPlace(s) && s.layout() == a.keep) {
                bind(a.inner, s.memory);
            } else {
                s.ensurePlain();
                bind(a.user, s.memory);
                if (a.reorder != null) {
                    bind(a.inner, a.scratch);
                    Dnnl.check(dnnl_primitive_execute(a.reorder, stream, 2, a.reorderArgs), "reorder");
                }
            }
        }
        for (int i = inputs; i < args.length; i++) {
            Arg a = args[i];
            CpuStorage s = data[i];
            if (a.workspace || s.numel() == a.numel) {
                s.setLayout(null); // overwritten whole
            } else {
                s.ensurePlain(); // the rest of a larger storage keeps its meaning
            }
            bind(a.user, s.memory);
            if (a.inner != null) {
                bind(a.inner, a.inPlace(s) ? s.memory : a.scratch);
            }
        }
        Dnnl.check(dnnl_primitive_execute(primitive, stream, args.length, execArgs), "dnnl_primitive_execute");
        for (int i = inputs; i < args.length; i++) {
            Arg a = args[i];
            if (a.workspace) {
                data[i].setWorkspace(this);
            } else if (a.inPlace(data[i])) {
                data[i].setLayout(a.keep);
            } else if (a.reorder != null) {
                Dnnl.check(dnnl_primitive_execute(a.reorder, stream, 2, a.reorderArgs), "reorder");
            }
        }
        Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait");
    }

    private static void bind(dnnl_memory m, Pointer p) {
        Dnnl.check(dnnl_memory_set_data_handle(m, p), "dnnl_memory_set_data_handle");
    }

    /** Collects a primitive's arguments; add inputs before outputs. */
    static final class Builder {
        private final Dnnl dnnl;
        private final dnnl_primitive_desc pd;
        private final List<Arg> args = new ArrayList<>();
        private final List<Integer> ids = new ArrayList<>();
        private int inputs;

        Builder(Dnnl dnnl, dnnl_primitive_desc pd) {
            this.dnnl = dnnl;
            this.pd = pd;
        }

        /**
         * An argument whose storage holds {@code plain}; the primitive runs it in {@code chosen}; {@code keep} is
         * the layout to hold it in between ops (null: plain in the storage).
         */
        Builder add(int id, dnnl_memory_desc plain, dnnl_memory_desc chosen, boolean input, DnnlLayout keep) {
            dnnl_memory user = memory(plain, null);
            long numel = dnnl_memory_desc_get_size(plain) / Float.BYTES;
            if (dnnl_memory_desc_equal(plain, chosen) != 0) {
                return add(id, new Arg(user, null, null, null, null, null, numel, false), input);
            }
            BytePointer scratch = new BytePointer(dnnl_memory_desc_get_size(chosen));
            dnnl_memory inner = memory(chosen, scratch);
            dnnl_primitive_desc rpd = new dnnl_primitive_desc();
            Dnnl.check(
                    input
                            ? dnnl_reorder_primitive_desc_create(rpd, plain, dnnl.engine(), chosen, dnnl.engine(), null)
                            : dnnl_reorder_primitive_desc_create(
                                    rpd, chosen, dnnl.engine(), plain, dnnl.engine(), null),
                    "dnnl_reorder_primitive_desc_create");
            dnnl_primitive reorder = new dnnl_primitive();
            Dnnl.check(dnnl_primitive_create(reorder, rpd), "dnnl_primitive_create reorder");
            dnnl_exec_arg_t rargs = new dnnl_exec_arg_t(2);
            rargs.position(0).arg(DNNL_ARG_FROM).memory(input ? user : inner);
            rargs.position(1).arg(DNNL_ARG_TO).memory(input ? inner : user);
            rargs.position(0);
            return add(id, new Arg(user, inner, reorder, rargs, scratch, keep, numel, false), input);
        }

        /** A workspace in {@code md}, held as raw bytes in a storage of at least its size. */
        Builder addWorkspace(int id, dnnl_memory_desc md, boolean input) {
            return add(id, new Arg(memory(md, null), null, null, null, null, null, 0, true), input);
        }

        private Builder add(int id, Arg a, boolean input) {
            if (input && inputs != args.size()) {
                throw new IllegalStateException("DnnlPlan: inputs go before outputs");
            }
            args.add(a);
            ids.add(id);
            inputs += input ? 1 : 0;
            return this;
        }

        private dnnl_memory memory(dnnl_memory_desc md, Pointer handle) {
            dnnl_memory m = new dnnl_memory();
            Dnnl.check(dnnl_memory_create(m, md, dnnl.engine(), handle), "dnnl_memory_create");
            return m;
        }

        DnnlPlan build() {
            dnnl_primitive prim = new dnnl_primitive();
            Dnnl.check(dnnl_primitive_create(prim, pd), "dnnl_primitive_create");
            dnnl_exec_arg_t exec = new dnnl_exec_arg_t(args.size());
            for (int i = 0; i < args.size(); i++) {
                Arg a = args.get(i);
                exec.position(i).arg(ids.get(i)).memory(a.inner != null ? a.inner : a.user);
            }
            exec.position(0);
            return new DnnlPlan(prim, args.toArray(new Arg[0]), inputs, exec);
        }
    }
}
