package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_equal;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_reorder_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * One ready oneDNN primitive and its arguments, made once per shape; each call only rebinds our storages.
 *
 * <p>Per argument: a memory wrapping the caller's plain buffer and, when the primitive chose another layout, a
 * memory in that layout with a reorder through scratch. An activation whose chosen layout fits its storage
 * ({@code keep}) is read and written in place in that layout instead, so the next oneDNN op takes it without a
 * reorder. A workspace argument (max pooling's) is bound to its storage as is.
 *
 * <p>Threads: the primitives are immutable and made with user scratchpads ({@link Dnnl#attr()}); everything an
 * execution writes to (memory objects, reorder scratch, the scratchpad) is an {@link Exec}, taken from a pool for
 * the call and put back after it. So any number of threads run one plan at once without a lock, and the pool holds
 * as many argument sets as were ever in use at the same time.
 *
 * <p>Plans live in a {@link DnnlPlanCache}, which frees one ({@link #free}) once it is evicted and no thread runs it.
 */
final class DnnlPlan implements DnnlPlanCache.Plan {
    /** Marks a geometry oneDNN declined. */
    static final DnnlPlan UNSUPPORTED = new DnnlPlan(null, null, null, List.of(), new Arg[0], 0, null, 0);

    /** What one argument is; immutable, shared by every execution. */
    private static final class Arg {
        final int id;
        final dnnl_memory_desc plain;
        /** The primitive's layout when it differs from {@code plain}, else null. */
        final dnnl_memory_desc chosen;

        final dnnl_primitive reorder;
        /** The reorder's descriptor (which owns {@link #reorderScratchpad}), freed with the plan. */
        final dnnl_primitive_desc reorderPd;

        final dnnl_memory_desc reorderScratchpad;
        final DnnlLayout keep;
        final long numel;
        final boolean workspace;
        final boolean input;
        /**
         * Reorders straight from a blocked layout an input arrives in to {@link #chosen}, made on first use: one
         * reorder instead of two (to plain in place, then to the chosen layout), and the input is left as it is.
         */
        final ConcurrentHashMap<DnnlLayout, Direct> direct = new ConcurrentHashMap<>();

        Arg(
                int id,
                dnnl_memory_desc plain,
                dnnl_memory_desc chosen,
                dnnl_primitive reorder,
                dnnl_primitive_desc reorderPd,
                dnnl_memory_desc reorderScratchpad,
                DnnlLayout keep,
                long numel,
                boolean workspace,
                boolean input) {
            this.id = id;
            this.plain = plain;
            this.chosen = chosen;
            this.reorder = reorder;
            this.reorderPd = reorderPd;
            this.reorderScratchpad = reorderScratchpad;
            this.keep = keep;
            this.numel = numel;
            this.workspace = workspace;
            this.input = input;
        }

        /** True when {@code s} can hold (or holds) this argument in the kept layout. */
        boolean inPlace(CpuStorage s) {
            return keep != null && s.numel() == numel;
        }
    }

    /** A reorder from a blocked source layout to an argument's chosen layout; immutable. */
    private record Direct(
            DnnlLayout from, dnnl_primitive reorder, dnnl_primitive_desc pd, dnnl_memory_desc scratchpad) {}

    /** One execution's memories for a {@link Direct} reorder: the source, bound per call, and the arguments. */
    private record DirectExec(dnnl_primitive reorder, dnnl_memory from, dnnl_exec_arg_t args, BytePointer ownPad) {}

    /** The memory objects and buffers of one execution: used by one thread at a time. */
    private final class Exec {
        /** Per argument, the argument sets of its direct reorders made so far. */
        final List<Map<DnnlLayout, DirectExec>> direct = new ArrayList<>();

        final dnnl_memory[] user = new dnnl_memory[args.length];
        final dnnl_memory[] inner = new dnnl_memory[args.length];
        final dnnl_exec_arg_t[] reorderArgs = new dnnl_exec_arg_t[args.length];
        final BytePointer[] scratch = new BytePointer[args.length];
        /** One buffer for the scratchpads of the primitive and of its reorders, which run one after another. */
        final BytePointer scratchpad;

        final dnnl_exec_arg_t execArgs;
        final dnnl_stream stream = dnnl.newStream();

        Exec() {
            scratchpad = new BytePointer(Math.max(1, scratchpadBytes));
            long made = Math.max(1, scratchpadBytes);
            int[] ids = new int[args.length];
            dnnl_memory[] bound = new dnnl_memory[args.length];
            for (int i = 0; i < args.length; i++) {
                Arg a = args[i];
                ids[i] = a.id;
                user[i] = dnnl.memory(a.plain, null);
                bound[i] = user[i];
                if (a.chosen != null) {
                    scratch[i] = new BytePointer(dnnl_memory_desc_get_size(a.chosen));
                    made += scratch[i].capacity();
                    inner[i] = dnnl.memory(a.chosen, scratch[i]);
                    bound[i] = inner[i];
                    dnnl_memory from = a.input ? user[i] : inner[i];
                    dnnl_memory to = a.input ? inner[i] : user[i];
                    reorderArgs[i] = dnnl.exec(
                            new int[] {DNNL_ARG_FROM, DNNL_ARG_TO},
                            new dnnl_memory[] {from, to},
                            a.reorderScratchpad,
                            scratchpad);
                }
            }
            execArgs = dnnl.exec(ids, bound, primitiveScratchpad, scratchpad);
            for (int i = 0; i < args.length; i++) {
                direct.add(new HashMap<>(2));
            }
            bytes.addAndGet(made);
        }

        /** This execution's arguments for reordering {@code from} straight into argument {@code i}'s layout. */
        DirectExec direct(int i, DnnlLayout from) {
            DirectExec known = direct.get(i).get(from);
            if (known != null) {
                return known; // every call after the first: no capturing lambda made on the step's path
            }
            return direct.get(i).computeIfAbsent(from, l -> {
                Direct d = args[i].direct.computeIfAbsent(l, k -> directReorder(k, args[i].chosen));
                dnnl_memory src = dnnl.memory(l.blocked, null);
                // A reorder's own scratchpad is separate when it is larger than the shared one (none is, today).
                long need = dnnl_memory_desc_get_size(d.scratchpad());
                BytePointer ownPad = need <= scratchpadBytes ? null : new BytePointer(need);
                Pointer pad = ownPad == null ? scratchpad : ownPad;
                bytes.addAndGet(ownPad == null ? 0 : need);
                return new DirectExec(
                        d.reorder(),
                        src,
                        dnnl.exec(
                                new int[] {DNNL_ARG_FROM, DNNL_ARG_TO},
                                new dnnl_memory[] {src, inner[i]},
                                d.scratchpad(),
                                pad),
                        ownPad);
            });
        }

        /** Frees this execution's memories, stream and buffers. */
        void free() {
            for (Map<DnnlLayout, DirectExec> m : direct) {
                for (DirectExec d : m.values()) {
                    destroyScratchpadMemory(d.args());
                    Dnnl.check(dnnl_memory_destroy(d.from()), "dnnl_memory_destroy");
                    d.args().close();
                    if (d.ownPad() != null) {
                        d.ownPad().close();
                    }
                }
            }
            for (int i = 0; i < args.length; i++) {
                Dnnl.check(dnnl_memory_destroy(user[i]), "dnnl_memory_destroy");
                if (inner[i] != null) {
                    Dnnl.check(dnnl_memory_destroy(inner[i]), "dnnl_memory_destroy");
                }
                if (reorderArgs[i] != null) {
                    destroyScratchpadMemory(reorderArgs[i]);
                    reorderArgs[i].close();
                }
                if (scratch[i] != null) {
                    scratch[i].close();
                }
            }
            destroyScratchpadMemory(execArgs);
            execArgs.close();
            scratchpad.close();
            Dnnl.check(dnnl_stream_destroy(stream), "dnnl_stream_destroy");
        }
    }

    /** Destroys the scratchpad memory {@link Dnnl#exec} made for an argument list, if it made one. */
    private static void destroyScratchpadMemory(dnnl_exec_arg_t a) {
        for (int j = 0; j < a.capacity(); j++) {
            if (a.position(j).arg() == DNNL_ARG_SCRATCHPAD) {
                Dnnl.check(dnnl_memory_destroy(a.memory()), "dnnl_memory_destroy");
            }
        }
        a.position(0);
    }

    private Direct directReorder(DnnlLayout from, dnnl_memory_desc to) {
        dnnl_primitive_desc rpd = new dnnl_primitive_desc();
        Dnnl.check(
                dnnl_reorder_primitive_desc_create(rpd, from.blocked, dnnl.engine(), to, dnnl.engine(), dnnl.attr()),
                "dnnl_reorder_primitive_desc_create");
        return new Direct(from, Dnnl.primitive(rpd, "reorder"), rpd, Dnnl.scratchpad(rpd));
    }

    private final Dnnl dnnl;
    private final dnnl_primitive primitive;
    /** The primitive's descriptor (which owns the layouts it chose) and others it was made from, freed with it. */
    private final dnnl_primitive_desc pd;

    private final List<dnnl_primitive_desc> alsoOwned;
    private final Arg[] args;
    private final int inputs;
    private final dnnl_memory_desc primitiveScratchpad;
    private final long scratchpadBytes;
    private final ConcurrentLinkedQueue<Exec> idle = new ConcurrentLinkedQueue<>();
    /** Set by the builder: what the plan's maker knows it by, or null. */
    private Object tag;

    /** Native bytes of the argument sets made so far. */
    private final AtomicLong bytes = new AtomicLong();

    private DnnlPlan(
            Dnnl dnnl,
            dnnl_primitive primitive,
            dnnl_primitive_desc pd,
            List<dnnl_primitive_desc> alsoOwned,
            Arg[] args,
            int inputs,
            dnnl_memory_desc primitiveScratchpad,
            long scratchpadBytes) {
        this.dnnl = dnnl;
        this.primitive = primitive;
        this.pd = pd;
        this.alsoOwned = alsoOwned;
        this.args = args;
        this.inputs = inputs;
        this.primitiveScratchpad = primitiveScratchpad;
        this.scratchpadBytes = scratchpadBytes;
    }

    /** What the plan's maker knows it by ({@link Builder#tag}), or null; readable after the plan was freed. */
    Object tag() {
        return tag;
    }

    @Override
    public long bytes() {
        return bytes.get();
    }

    /**
     * Frees the primitive, its reorders and every argument set; only when no thread runs the plan (its
     * {@link DnnlPlanCache} calls this when the last user releases it).
     */
    @Override
    public void free() {
        if (primitive == null) {
            return; // UNSUPPORTED: nothing native
        }
        for (Exec e = idle.poll(); e != null; e = idle.poll()) {
            e.free();
        }
        for (Arg a : args) {
            if (a.reorder != null) {
                Dnnl.check(dnnl_primitive_destroy(a.reorder), "dnnl_primitive_destroy");
                Dnnl.check(dnnl_primitive_desc_destroy(a.reorderPd), "dnnl_primitive_desc_destroy");
            }
            for (Direct d : a.direct.values()) {
                Dnnl.check(dnnl_primitive_destroy(d.reorder()), "dnnl_primitive_destroy");
                Dnnl.check(dnnl_primitive_desc_destroy(d.pd()), "dnnl_primitive_desc_destroy");
            }
        }
        Dnnl.check(dnnl_primitive_destroy(primitive), "dnnl_primitive_destroy");
        Dnnl.check(dnnl_primitive_desc_destroy(pd), "dnnl_primitive_desc_destroy");
        for (dnnl_primitive_desc other : alsoOwned) {
            Dnnl.check(dnnl_primitive_desc_destroy(other), "dnnl_primitive_desc_destroy");
        }
        bytes.set(0);
    }

    /**
     * Runs on {@code data} (one storage per argument, in the order added, inputs first): inputs not already in the
     * primitive's layout are reordered into it, outputs are written in place when their layout fits the storage,
     * else reordered back to plain. Null storages are dropped first, so a plan made without an optional argument
     * (a bias, batch norm's scale and shift) takes the same call. Any number of threads may call at once.
     */
    void run(Dnnl caller, CpuStorage... given) {
        CpuStorage[] data = given;
        if (Arrays.asList(given).contains(null)) { // copies only for a call with an absent argument
            data = Arrays.stream(given).filter(Objects::nonNull).toArray(CpuStorage[]::new);
        }
        Exec e = idle.poll();
        if (e == null) {
            e = new Exec();
        }
        try {
            run(caller, e, data);
        } finally {
            idle.offer(e);
        }
    }

    private void run(Dnnl caller, Exec e, CpuStorage[] data) {
        // What must be plain is made plain first, before any read hold is taken (a conversion waits for readers on
        // other threads to finish): inputs the primitive reads in plain order, and outputs that fill only part of a
        // storage. The remaining inputs, possibly blocked, are held against conversion until the primitive is done.
        for (int i = 0; i < args.length; i++) {
            Arg a = args[i];
            boolean partialOutput = !a.input && !a.workspace && data[i].numel() != a.numel;
            if (a.input && !a.workspace && a.reorder == null || partialOutput) {
                data[i].ensurePlain();
            }
        }
        try (CpuStorage.BlockedReads held = CpuStorage.readBlocked(data, inputs)) {
            run(e, data);
        }
    }

    private void run(Exec e, CpuStorage[] data) {
        var stream = e.stream;
        for (int i = 0; i < inputs; i++) {
            Arg a = args[i];
            CpuStorage s = data[i];
            if (a.workspace) {
                bind(e.user[i], s.memory);
            } else if (a.inPlace(s) && s.layout() == a.keep) {
                bind(e.inner[i], s.memory);
            } else if (a.reorder != null && s.layout() != null) {
                DirectExec d = e.direct(i, s.layout());
                bind(d.from(), s.memory);
                bind(e.inner[i], e.scratch[i]);
                execute(d.reorder(), stream, d.args(), "reorder");
            } else {
                s.ensurePlain();
                bind(e.user[i], s.memory);
                if (a.reorder != null) {
                    bind(e.inner[i], e.scratch[i]);
                    execute(a.reorder, stream, e.reorderArgs[i], "reorder");
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
            bind(e.user[i], s.memory);
            if (e.inner[i] != null) {
                bind(e.inner[i], a.inPlace(s) ? s.memory : e.scratch[i]);
            }
        }
        execute(primitive, stream, e.execArgs, "dnnl_primitive_execute");
        for (int i = inputs; i < args.length; i++) {
            Arg a = args[i];
            if (a.workspace) {
                data[i].setWorkspace(this);
            } else if (a.inPlace(data[i])) {
                data[i].setLayout(a.keep);
            } else if (a.reorder != null) {
                execute(a.reorder, stream, e.reorderArgs[i], "reorder");
            }
        }
        Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait");
    }

    private static void execute(dnnl_primitive p, dnnl_stream stream, dnnl_exec_arg_t a, String what) {
        Dnnl.check(dnnl_primitive_execute(p, stream, (int) a.capacity(), a), what);
    }

    private static void bind(dnnl_memory m, Pointer p) {
        Dnnl.check(dnnl_memory_set_data_handle(m, p), "dnnl_memory_set_data_handle");
    }

    /** Collects a primitive's arguments; add inputs before outputs. */
    static final class Builder {
        private final Dnnl dnnl;
        private final dnnl_primitive_desc pd;
        private final List<Arg> args = new ArrayList<>();
        private final List<dnnl_primitive_desc> alsoOwned = new ArrayList<>();
        private int inputs;
        private Object tag;

        Builder(Dnnl dnnl, dnnl_primitive_desc pd) {
            this.dnnl = dnnl;
            this.pd = pd;
        }

        /**
         * An argument whose storage holds {@code plain}; the primitive runs it in {@code chosen}; {@code keep} is
         * the layout to hold it in between ops (null: plain in the storage).
         */
        Builder add(int id, dnnl_memory_desc plain, dnnl_memory_desc chosen, boolean input, DnnlLayout keep) {
            long numel = dnnl_memory_desc_get_size(plain) / Float.BYTES;
            if (dnnl_memory_desc_equal(plain, chosen) != 0) {
                return add(new Arg(id, plain, null, null, null, null, null, numel, false, input));
            }
            dnnl_primitive_desc rpd = new dnnl_primitive_desc();
            Dnnl.check(
                    input
                            ? dnnl_reorder_primitive_desc_create(
                                    rpd, plain, dnnl.engine(), chosen, dnnl.engine(), dnnl.attr())
                            : dnnl_reorder_primitive_desc_create(
                                    rpd, chosen, dnnl.engine(), plain, dnnl.engine(), dnnl.attr()),
                    "dnnl_reorder_primitive_desc_create");
            dnnl_primitive reorder = Dnnl.primitive(rpd, "reorder");
            return add(new Arg(id, plain, chosen, reorder, rpd, Dnnl.scratchpad(rpd), keep, numel, false, input));
        }

        /** A descriptor {@code pd} was made from (a forward pass's, as a backward's hint), freed with the plan. */
        Builder alsoOwns(dnnl_primitive_desc other) {
            alsoOwned.add(other);
            return this;
        }

        /** What the plan's maker knows it by ({@link DnnlPlan#tag}): pooling's key, to find its backward. */
        Builder tag(Object t) {
            tag = t;
            return this;
        }

        /** A workspace in {@code md}, held as raw bytes in a storage of at least its size. */
        Builder addWorkspace(int id, dnnl_memory_desc md, boolean input) {
            return add(new Arg(id, md, null, null, null, null, null, 0, true, input));
        }

        private Builder add(Arg a) {
            if (a.input && inputs != args.size()) {
                throw new IllegalStateException("DnnlPlan: inputs go before outputs");
            }
            args.add(a);
            inputs += a.input ? 1 : 0;
            return this;
        }

        DnnlPlan build() {
            dnnl_primitive prim = Dnnl.primitive(pd, "primitive");
            dnnl_memory_desc scratchpad = Dnnl.scratchpad(pd);
            long bytes = dnnl_memory_desc_get_size(scratchpad);
            for (Arg a : args) {
                if (a.reorderScratchpad != null) {
                    bytes = Math.max(bytes, dnnl_memory_desc_get_size(a.reorderScratchpad));
                }
            }
            DnnlPlan p = new DnnlPlan(
                    dnnl, prim, pd, List.copyOf(alsoOwned), args.toArray(new Arg[0]), inputs, scratchpad, bytes);
            p.tag = tag;
            p.idle.offer(p.new Exec()); // made now, so the cache counts its bytes when it takes the plan in
            return p;
        }
    }
}
