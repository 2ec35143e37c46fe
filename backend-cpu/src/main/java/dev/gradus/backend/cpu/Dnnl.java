package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_engine_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_create_with_tag;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_get_scratchpad_mode;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_set_scratchpad_mode;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_get_attr;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_next_impl;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_impl_info_str;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_scratchpad_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_scratchpad_mode_user;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_default_flags;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.dnnl.dnnl_version_t;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The loaded oneDNN library: its CPU engine, streams for the executions, and the thread settings it was loaded
 * with.
 *
 * <p>oneDNN runs on OpenMP (a bundled libgomp), which reads {@code OMP_NUM_THREADS} and {@code OMP_WAIT_POLICY}
 * once, when it loads, and the preset maps no {@code omp_*} call. So the environment is set in this process
 * ({@link NativeEnv}) before loading: the thread count is Gradus's one setting, and waiting is passive, because
 * OpenMP threads spinning between oneDNN ops steal the cores OpenBLAS and the Java kernels need next (measured on
 * {@code bn-cnn}: active waiting made its GEMMs 6x slower, 5 -> 32 ms a step).
 *
 * <p>Threads: every primitive we execute is made with a user-managed scratchpad ({@link #attr()}), and each execution
 * brings its own ({@link #exec}). oneDNN's default, a library scratchpad shared per thread, lets a primitive run only
 * on the thread that created it: on AVX2 the gemm-based convolution's im2col wrote through a null scratchpad on any
 * other thread (a JVM crash). With user scratchpads a primitive may run on any thread, on several at once, as long as
 * no two executions share a scratchpad or a memory object, which {@link DnnlPlan} guarantees.
 */
final class Dnnl {
    private final dnnl_engine engine;
    private final dnnl_primitive_attr attr;
    private final String version;
    private final String ompThreads;
    private final String ompWait;

    private Dnnl(dnnl_engine engine, String version, String ompThreads, String ompWait) {
        this.engine = engine;
        this.attr = userScratchpad(null);
        this.version = version;
        this.ompThreads = ompThreads;
        this.ompWait = ompWait;
    }

    /**
     * Loads oneDNN with {@code threads} OpenMP threads; throws ({@link UnsatisfiedLinkError} or
     * {@link IllegalStateException}) when the natives cannot load or make a CPU engine.
     */
    static Dnnl load(int threads) {
        String ompThreads = NativeEnv.setDefault("OMP_NUM_THREADS", Integer.toString(threads));
        String ompWait = NativeEnv.setDefault("OMP_WAIT_POLICY", System.getProperty("gradus.ompWaitPolicy", "passive"));
        Loader.load(dnnl.class);
        dnnl_engine engine = new dnnl_engine();
        check(dnnl_engine_create(engine, dnnl_cpu, 0), "dnnl_engine_create");
        dnnl_version_t v = dnnl.dnnl_version();
        String version = v.major() + "." + v.minor() + "." + v.patch();
        return new Dnnl(engine, version, ompThreads, ompWait);
    }

    /** The loaded library's version, e.g. {@code 3.11.0}. */
    String version() {
        return version;
    }

    dnnl_engine engine() {
        return engine;
    }

    /**
     * Attributes with a user-managed scratchpad, for every primitive descriptor we execute; shared and never
     * changed (descriptors copy them).
     */
    dnnl_primitive_attr attr() {
        return attr;
    }

    /** {@code a} (or new attributes when null) set to a user-managed scratchpad. */
    static dnnl_primitive_attr userScratchpad(dnnl_primitive_attr a) {
        if (a == null) {
            a = new dnnl_primitive_attr();
            check(dnnl_primitive_attr_create(a), "primitive attributes");
        }
        check(dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user), "scratchpad mode");
        return a;
    }

    /**
     * The primitive of {@code pd}, which must have been made with a user-managed scratchpad: one made with the
     * library's would crash when run on another thread than this one.
     */
    static dnnl_primitive primitive(dnnl_primitive_desc pd, String what) {
        dnnl_primitive_attr a = new dnnl_primitive_attr();
        check(dnnl_primitive_desc_get_attr(pd, a), "dnnl_primitive_desc_get_attr");
        IntPointer mode = new IntPointer(1);
        check(dnnl_primitive_attr_get_scratchpad_mode(a, mode), "dnnl_primitive_attr_get_scratchpad_mode");
        if (mode.get() != dnnl_scratchpad_mode_user) {
            throw new IllegalStateException("oneDNN: " + what + " made without a user scratchpad (not thread safe)");
        }
        dnnl_primitive p = new dnnl_primitive();
        check(dnnl_primitive_create(p, pd), "dnnl_primitive_create " + what);
        return p;
    }

    /** The scratchpad descriptor of {@code pd} (zero size when the primitive needs none). */
    static dnnl_memory_desc scratchpad(dnnl_primitive_desc pd) {
        return dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    }

    /** A memory over {@code handle} (null: none yet) described by {@code md}. */
    dnnl_memory memory(dnnl_memory_desc md, Pointer handle) {
        dnnl_memory m = new dnnl_memory();
        check(dnnl_memory_create(m, md, engine, handle), "dnnl_memory_create");
        return m;
    }

    /**
     * An execution's argument list: {@code ids[i]} bound to {@code memories[i]}, plus the scratchpad in
     * {@code scratchpadBuffer} when {@code scratchpad} has a size. Its length is its {@code capacity()}.
     */
    dnnl_exec_arg_t exec(int[] ids, dnnl_memory[] memories, dnnl_memory_desc scratchpad, Pointer scratchpadBuffer) {
        boolean withScratchpad = dnnl_memory_desc_get_size(scratchpad) > 0;
        int n = ids.length + (withScratchpad ? 1 : 0);
        dnnl_exec_arg_t args = new dnnl_exec_arg_t(n);
        for (int i = 0; i < ids.length; i++) {
            args.position(i).arg(ids[i]).memory(memories[i]);
        }
        if (withScratchpad) {
            args.position(ids.length).arg(DNNL_ARG_SCRATCHPAD).memory(memory(scratchpad, scratchpadBuffer));
        }
        return args.position(0);
    }

    /**
     * A new stream, for one set of execution arguments (a oneDNN stream is not for two threads at once). Held by
     * the argument set rather than per thread: a server that starts a thread per request would otherwise leave a
     * native stream behind with every thread.
     */
    dnnl_stream newStream() {
        dnnl_stream s = new dnnl_stream();
        check(dnnl_stream_create(s, engine, dnnl_stream_default_flags), "dnnl_stream_create");
        return s;
    }

    /** A plain row-major f32 memory descriptor with format {@code tag} (e.g. {@code dnnl_nchw}). */
    static dnnl_memory_desc md(int tag, long... dims) {
        dnnl_memory_desc md = new dnnl_memory_desc();
        check(dnnl_memory_desc_create_with_tag(md, dims.length, dims, dnnl_f32, tag), "dnnl_memory_desc_create");
        return md;
    }

    /** The implementation a primitive descriptor chose, e.g. {@code jit:avx512_core} or {@code ref:any}. */
    static String implementation(dnnl_primitive_desc pd) {
        PointerPointer<BytePointer> out = new PointerPointer<>(1);
        check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, out), "dnnl_primitive_desc_query");
        BytePointer s = out.get(BytePointer.class, 0);
        return s == null || s.isNull() ? "" : s.getString();
    }

    /**
     * Moves {@code pd} past oneDNN's gemm-based implementations to the next one it offers (for a convolution: its
     * direct JIT kernels), if any; returns the implementation it then holds. Why: the gemm-based convolutions pick
     * plain layouts and synchronise their OpenMP threads with spinning barriers (see {@link DnnlConv}).
     */
    static String preferNonGemm(dnnl_primitive_desc pd) {
        String impl = implementation(pd);
        while (impl.contains("gemm") && dnnl_primitive_desc_next_impl(pd) == dnnl_success) {
            impl = implementation(pd);
        }
        return impl;
    }

    static void check(int status, String what) {
        if (status != dnnl_success) {
            throw new IllegalStateException("oneDNN: " + what + " failed with status " + status);
        }
    }

    Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("onednn", version);
        m.put("onednn OMP_NUM_THREADS", ompThreads);
        m.put("onednn OMP_WAIT_POLICY", ompWait);
        return m;
    }
}
