package dev.gradus.backend.cpu;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * Loads OpenBLAS, sets its thread count, and finds out which kernel set it runs.
 *
 * <p>The kernel set matters: OpenBLAS picks it once, when it loads, from {@code OPENBLAS_CORETYPE} or CPU
 * detection. Haswell (AVX2) kernels on an AVX-512 CPU run sgemm at about half the speed of the SkylakeX kernels.
 */
public final class OpenBlasInfo {
    /** Kernel sets that use AVX-512. */
    private static final Set<String> AVX512_CORES = Set.of("skylakex", "cooperlake", "sapphirerapids");

    private final String corename;
    private final String config;
    private final int threads;
    private final boolean cpuHasAvx512;
    private final String coretypeEnv;
    private final String threadTimeout;

    private OpenBlasInfo(
            String corename,
            String config,
            int threads,
            boolean cpuHasAvx512,
            String coretypeEnv,
            String threadTimeout) {
        this.threadTimeout = threadTimeout;
        this.corename = corename;
        this.config = config;
        this.threads = threads;
        this.cpuHasAvx512 = cpuHasAvx512;
        this.coretypeEnv = coretypeEnv;
    }

    /**
     * Loads the natives (throws {@link UnsatisfiedLinkError} or similar if they cannot load) and applies
     * {@code threads}.
     */
    static OpenBlasInfo load(int threads) {
        // OpenBLAS's idle threads spin (with sched_yield) for 2^28 cycles, ~0.1 s, after every GEMM before they
        // sleep; oneDNN's threads and our Java kernels then run on cores already taken. 2^4 cycles lets them sleep
        // at once: measured on bn-cnn, a 2-core step went from 73.7 to 27.9 ms, and GEMM alone lost nothing.
        String timeout = NativeEnv.setDefault("OPENBLAS_THREAD_TIMEOUT", "4");
        Loader.load(openblas_nolapack.class);
        openblas_nolapack.blas_set_num_threads(threads);
        String core = "unknown";
        String cfg = "unknown";
        int actual = openblas_nolapack.blas_get_num_threads();
        try {
            NativeLibrary lib = openblasLibrary();
            if (lib != null) {
                Function f = lib.getFunction("openblas_get_corename");
                core = (String) f.invoke(String.class, new Object[0]);
                cfg = (String) lib.getFunction("openblas_get_config").invoke(String.class, new Object[0]);
            }
        } catch (Throwable t) {
            core = "unknown (" + t.getClass().getSimpleName() + ": " + t.getMessage() + ")";
        }
        return new OpenBlasInfo(
                core == null ? "unknown" : core.trim(),
                cfg == null ? "" : cfg.trim(),
                actual,
                detectAvx512(),
                System.getenv("OPENBLAS_CORETYPE"),
                timeout);
    }

    private static NativeLibrary openblasLibrary() {
        for (String path : Loader.getLoadedLibraries().values()) {
            if (path == null) {
                continue;
            }
            String file = Path.of(path).getFileName().toString();
            if (file.startsWith("libopenblas") && !file.contains("jni")) {
                return NativeLibrary.getInstance(path);
            }
        }
        return null;
    }

    private static boolean detectAvx512() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    return line.contains(" avx512f");
                }
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return false;
    }

    /** The kernel set OpenBLAS chose, e.g. {@code Haswell} or {@code SkylakeX}. */
    public String corename() {
        return corename;
    }

    /** OpenBLAS threads. */
    public int threads() {
        return threads;
    }

    /** True when the CPU supports AVX-512 but OpenBLAS runs weaker kernels. */
    public boolean weakerThanCpu() {
        return warning() != null;
    }

    /** The warning to print when OpenBLAS runs weaker kernels than the CPU supports, else null. */
    public String warning() {
        return warningFor(corename, cpuHasAvx512, coretypeEnv);
    }

    static String warningFor(String corename, boolean cpuHasAvx512, String coretypeEnv) {
        if (!cpuHasAvx512 || AVX512_CORES.contains(corename.toLowerCase(Locale.ROOT))) {
            return null;
        }
        return "OpenBLAS runs its " + corename + " kernels"
                + (coretypeEnv != null ? " (OPENBLAS_CORETYPE=" + coretypeEnv + ")" : "")
                + " but this CPU supports AVX-512: start the JVM with OPENBLAS_CORETYPE=SkylakeX"
                + " for up to ~1.8x faster matrix multiplication (OpenBLAS reads it once, when it loads)";
    }

    Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("openblas kernels", corename);
        m.put("openblas threads", Integer.toString(threads));
        m.put("openblas config", config);
        m.put("cpu avx512", Boolean.toString(cpuHasAvx512));
        m.put("OPENBLAS_CORETYPE", coretypeEnv == null ? "(unset)" : coretypeEnv);
        m.put("OPENBLAS_THREAD_TIMEOUT", threadTimeout);
        String w = warning();
        if (w != null) {
            m.put("warning", w);
        }
        return m;
    }
}
