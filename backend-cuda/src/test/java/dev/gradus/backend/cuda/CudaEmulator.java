package dev.gradus.backend.cuda;

import dev.gradus.Backends;
import dev.gradus.spi.CudaSource;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs the real CUDA backend, Java code and kernel sources, on a machine without a GPU, for tests.
 *
 * <p>Builds host stand-ins for the NVIDIA libraries the JavaCPP wrappers link ({@code libcuda.so.1},
 * {@code libcudart.so.13}, {@code libcublas.so.13}, cuDNN 9's four libraries) from {@code emulator/*.cpp} with
 * {@code g++}, with the same sonames and symbol versions, and loads them before JavaCPP does, so that the wrappers
 * bind to them. The stand-in driver runs Gradus' kernel sources compiled for the host (a block's threads on real
 * threads where they synchronise), on one in-order stream with a worker thread, so host code that forgets to wait
 * for the stream sees stale data; fresh device memory reads as NaN; kernels, copies, cuBLAS and cuDNN check that
 * they touch only device memory. NVRTC is the real one, so the module loaded is what NVRTC made for sm_90.
 *
 * <p>What this proves is the backend's logic (arguments, layouts, launch shapes, descriptors, the GEMM plan, the
 * allocator, the order of work); not NVIDIA's libraries, timing, or the GPU's memory model. Use only in a JVM of
 * its own (the module's Surefire forks one per test class).
 */
public final class CudaEmulator {
    private static final List<String> SOURCES =
            List.of("emu.h", "emu_kernel.h", "emu_driver.cpp", "emu_runtime.cpp", "emu_cublas.cpp", "emu_cudnn.cpp");

    private static boolean prepared;
    private static String problem;

    private CudaEmulator() {}

    /** Builds and loads the stand-ins once per JVM; null when the CUDA backend can then start, else why not. */
    public static synchronized String prepare() {
        if (!prepared) {
            prepared = true;
            try {
                problem = build();
            } catch (IOException e) {
                problem = "building the CUDA emulator failed: " + e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                problem = "interrupted while building the CUDA emulator";
            }
        }
        return problem;
    }

    /** The CUDA backend on the emulator, for a test class's setup; skips the class, saying why, where it cannot run. */
    public static CudaBackend backend() {
        String why = prepare();
        Assumptions.assumeTrue(why == null, () -> "the CUDA emulator is not available: " + why);
        return (CudaBackend) Backends.get("cuda");
    }

    private static String build() throws IOException, InterruptedException {
        if (NvrtcLibraries.driverInstalled()) {
            return "an NVIDIA driver is installed here: the emulator runs only where there is none (the real"
                    + " backend is tested by CudaConformanceTest)";
        }
        String nvrtcDir = System.getProperty("gradus.nvrtc.dir");
        if (nvrtcDir == null || !Files.isRegularFile(Path.of(nvrtcDir, "libnvrtc.so.13"))) {
            return "no libnvrtc.so.13 in -Dgradus.nvrtc.dir=" + nvrtcDir
                    + " (the build unpacks it from cuda-redist with -Pnvrtc-check, as .ci/run does)";
        }
        Path dir = Files.createTempDirectory("gradus-cuda-emulator");
        String err = compileInto(dir);
        if (err != null) {
            return err;
        }
        for (String lib : LIBRARIES) {
            System.load(dir.resolve(lib).toString());
        }
        Path builtins = Path.of(nvrtcDir, "libnvrtc-builtins.so.13.1");
        if (Files.isRegularFile(builtins)) {
            System.load(builtins.toString());
        }
        System.load(Path.of(nvrtcDir, "libnvrtc.so.13").toString());
        System.setProperty("gradus.cuda.experimental", "true");
        System.setProperty("gradus.cuda.cache", dir.resolve("cache").toString());
        CudaOpKernels.beforeLoad = (source, pairs, scalars) -> buildOpKernel(dir, source, pairs, scalars);
        return null;
    }

    /** Entry names of the ops' kernels built so far, with their sources: one host library per entry name. */
    private static final Map<String, String> OP_KERNELS = new HashMap<>();

    /**
     * Compiles an op's or an update's CUDA source for the host into {@code user/<entry>.so} beside the stand-in
     * driver, which finds it there when the backend asks the module for the entry point (see {@code emu_driver.cpp}):
     * the kernel itself plus a function that calls it for one thread with the contract's arguments ({@code pairs}
     * pointer and size pairs, then {@code scalars} floats; see {@link CudaSource} and
     * {@link dev.gradus.spi.UpdateKernels}), and the number of pairs, whose ranges the driver checks.
     */
    static synchronized void buildOpKernel(Path dir, CudaSource source, int pairs, int scalars) {
        String entry = source.entry();
        String known = OP_KERNELS.get(entry);
        if (known != null) {
            if (!known.equals(source.source())) {
                throw new IllegalStateException("CUDA emulator: two ops' kernels are both called " + entry
                        + "; the emulator keeps one host library per entry name, so give them different names");
            }
            return;
        }
        StringBuilder cpp = new StringBuilder("#include \"emu_kernel.h\"\n#include <cstdint>\n#include <cstring>\n")
                .append(source.source())
                .append("\nextern \"C\" const int gradus_emu_user_params_")
                .append(entry)
                .append(" = ")
                .append(2 * pairs + scalars)
                .append(";\nextern \"C\" const int gradus_emu_user_pairs_")
                .append(entry)
                .append(" = ")
                .append(pairs)
                .append(";\nstatic float gradus_emu_scalar(uint64_t bits) {\n    float f;\n")
                .append("    std::memcpy(&f, &bits, sizeof f);\n    return f;\n}\n")
                .append("extern \"C\" void gradus_emu_user_")
                .append(entry)
                .append("(const uint64_t* a) {\n    ")
                .append(entry)
                .append('(');
        for (int j = 0; j < pairs; j++) {
            cpp.append(j == 0 ? "" : ", ")
                    .append("(float*) a[")
                    .append(2 * j)
                    .append("], (long long) a[")
                    .append(2 * j + 1)
                    .append(']');
        }
        for (int j = 0; j < scalars; j++) {
            cpp.append(", gradus_emu_scalar(a[").append(2 * pairs + j).append("])");
        }
        cpp.append(");\n}\n");
        try {
            Path user = Files.createDirectories(dir.resolve("user"));
            Path src = user.resolve(entry + ".cpp");
            Files.writeString(src, cpp.toString());
            List<String> cmd = List.of(
                    "g++",
                    "-std=c++17",
                    "-O2",
                    "-fPIC",
                    "-shared",
                    "-I",
                    dir.toString(),
                    "-o",
                    user.resolve(entry + ".so").toString(),
                    src.toString(),
                    dir.resolve("libcuda.so.1").toString());
            String err = compile(dir, List.of(cmd));
            if (err != null) {
                throw new IllegalStateException(
                        "CUDA emulator: the host copy of kernel " + entry + " did not build: " + err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("CUDA emulator: building kernel " + entry + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("CUDA emulator: interrupted building kernel " + entry, e);
        }
        OP_KERNELS.put(entry, source.source());
    }

    /** The stand-ins, in the order they must load: the driver first, the others link against it. */
    static final List<String> LIBRARIES = List.of(
            "libcuda.so.1",
            "libcudart.so.13",
            "libcublasLt.so.13",
            "libcublas.so.13",
            "libcudnn_graph.so.9",
            "libcudnn_ops.so.9",
            "libcudnn_cnn.so.9",
            "libcudnn_adv.so.9");

    /**
     * Builds the stand-ins into {@code dir} with {@code g++}; null when done, else why not. A JVM started with
     * {@code dir} (and NVRTC's folder) on {@code LD_LIBRARY_PATH} then runs the CUDA backend on them, as
     * {@code backend-cuda/gpu/emulate.sh} does for the examples and benchmarks.
     */
    static String compileInto(Path dir) throws IOException, InterruptedException {
        try {
            Process p = new ProcessBuilder("g++", "--version")
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (IOException e) {
            return "g++ is not on the PATH: the CUDA emulator was not built";
        }
        Files.createDirectories(dir);
        for (String s : SOURCES) {
            try (InputStream in = CudaEmulator.class.getResourceAsStream("/emulator/" + s)) {
                if (in == null) {
                    return "test resource emulator/" + s + " is missing";
                }
                Files.write(dir.resolve(s), in.readAllBytes());
            }
        }
        Files.writeString(dir.resolve("gradus_kernels.cu"), CudaKernels.all());

        // soname -> {source, defines}
        Map<String, List<String>> libs = new LinkedHashMap<>();
        libs.put("libcudart.so.13", List.of("emu_runtime.cpp"));
        libs.put("libcublasLt.so.13", List.of("emu_cudnn.cpp", "-DPART_NONE"));
        libs.put("libcublas.so.13", List.of("emu_cublas.cpp"));
        libs.put("libcudnn_graph.so.9", List.of("emu_cudnn.cpp", "-DPART_GRAPH"));
        libs.put("libcudnn_ops.so.9", List.of("emu_cudnn.cpp", "-DPART_OPS"));
        libs.put("libcudnn_cnn.so.9", List.of("emu_cudnn.cpp", "-DPART_CNN"));
        libs.put("libcudnn_adv.so.9", List.of("emu_cudnn.cpp", "-DPART_ADV"));

        List<String> driver = new ArrayList<>(gpp(dir, "libcuda.so.1", List.of("emu_driver.cpp"), false));
        driver.add("-ldl"); // dlopen of ops' own kernels (see buildOpKernel)
        String err = compile(dir, List.of(driver));
        if (err != null) {
            return err;
        }
        List<List<String>> commands = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : libs.entrySet()) {
            commands.add(gpp(dir, e.getKey(), e.getValue(), true));
        }
        return compile(dir, commands);
    }

    /** {@code CudaEmulator DIR}: builds the stand-ins into DIR (for {@code backend-cuda/gpu/emulate.sh}). */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: CudaEmulator DIR");
            System.exit(2);
        }
        String err = compileInto(Path.of(args[0]));
        if (err != null) {
            System.err.println(err);
            System.exit(1);
        }
    }

    private static List<String> gpp(Path dir, String soname, List<String> sourceAndDefines, boolean versioned)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                "g++",
                "-std=c++17",
                "-O2",
                "-fPIC",
                "-shared",
                "-pthread",
                "-Wall",
                "-Wno-unused-function",
                "-I",
                dir.toString(),
                "-Wl,-soname," + soname,
                "-o",
                dir.resolve(soname).toString()));
        cmd.addAll(sourceAndDefines.subList(1, sourceAndDefines.size()));
        cmd.add(dir.resolve(sourceAndDefines.get(0)).toString());
        if (versioned) {
            // The wrappers ask for each symbol at the version named after its library, as NVIDIA's are built.
            Path map = dir.resolve(soname + ".map");
            String prefix =
                    soname.startsWith("libcudart") ? "cuda*" : soname.startsWith("libcublas") ? "cublas*" : "cudnn*";
            Files.writeString(map, soname + " { global: " + prefix + "; gradus_emu_*; local: *; };\n");
            cmd.add("-Wl,--version-script=" + map);
            cmd.add(dir.resolve("libcuda.so.1").toString());
        }
        return cmd;
    }

    /** Runs the commands in parallel; null when all succeed, else the first failure with its output. */
    private static String compile(Path dir, List<List<String>> commands) throws IOException, InterruptedException {
        List<Process> running = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        for (List<String> cmd : commands) {
            Path log = Files.createTempFile(dir, "g++", ".log");
            running.add(new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start());
            logs.add(log);
        }
        String failure = null;
        for (int i = 0; i < running.size(); i++) {
            Process p = running.get(i);
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                failure = failure != null ? failure : "g++ timed out: " + commands.get(i);
            } else if (p.exitValue() != 0 && failure == null) {
                failure = "g++ failed building the CUDA emulator: " + String.join(" ", commands.get(i)) + "\n"
                        + Files.readString(logs.get(i), StandardCharsets.UTF_8);
            }
        }
        return failure;
    }
}
