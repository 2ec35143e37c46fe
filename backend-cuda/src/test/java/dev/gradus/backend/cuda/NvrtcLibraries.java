package dev.gradus.backend.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Makes JavaCPP's NVRTC wrapper loadable for tests on a machine without an NVIDIA driver.
 *
 * <p>NVRTC itself needs no driver, but JavaCPP's NVRTC wrapper inherits its cudart preset, whose JNI library
 * links {@code libcuda.so.1}. Where no driver is installed, this loads an empty library with that soname (built
 * with {@code cc} into a temporary folder) so that the dynamic linker is satisfied; no driver function is ever
 * called through it. It also loads {@code libcudart.so.13} and {@code libnvrtc.so.13} from
 * {@code -Dgradus.nvrtc.dir} (the build unpacks them there from {@code cuda-redist}) so that no library path has
 * to be set before the JVM starts: libraries already loaded satisfy later lookups by soname.
 *
 * <p>Use only in a JVM of its own (the module's Surefire runs each test class in a fresh JVM): after this, the
 * CUDA probe in the same JVM would find the stand-in instead of "no driver".
 */
final class NvrtcLibraries {
    private static final List<String> DRIVER_DIRS = List.of(
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib64",
            "/lib64",
            "/lib/x86_64-linux-gnu",
            "/usr/lib/wsl/lib",
            "/usr/local/nvidia/lib64");

    private static String problem;
    private static boolean prepared;

    private NvrtcLibraries() {}

    /** Prepares once per JVM; null when NVRTC can then be used, else why not in one line. */
    static synchronized String prepare() {
        if (!prepared) {
            prepared = true;
            try {
                problem = load();
            } catch (IOException e) {
                problem = "preparing NVRTC failed: " + e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                problem = "interrupted while preparing NVRTC";
            }
            if (problem == null) {
                problem = Nvrtc.problem();
            }
        }
        return problem;
    }

    private static String load() throws IOException, InterruptedException {
        if (!driverInstalled()) {
            String why = loadStandIn();
            if (why != null) {
                return why;
            }
        }
        String dir = System.getProperty("gradus.nvrtc.dir");
        if (dir == null || dir.isBlank()) {
            return null; // rely on the library path, as on the GPU machine
        }
        Path d = Path.of(dir);
        for (String lib : List.of("libcudart.so.13", "libnvrtc-builtins.so.13.1", "libnvrtc.so.13")) {
            Path p = d.resolve(lib);
            if (!Files.isRegularFile(p)) {
                if (lib.startsWith("libnvrtc-builtins")) {
                    continue; // another minor release: libnvrtc finds its own beside it on the library path
                }
                return p + " is missing (the build unpacks it from cuda-redist with -Pnvrtc-check, as .ci/run does)";
            }
            System.load(p.toAbsolutePath().toString());
        }
        return null;
    }

    /** True when an NVIDIA driver is loaded, or its libcuda.so.1 is in a usual folder or on LD_LIBRARY_PATH. */
    static boolean driverInstalled() {
        // The kernel module's file is there wherever a driver is loaded, whichever folder holds its libraries.
        if (Files.exists(Path.of("/proc/driver/nvidia/version"))) {
            return true;
        }
        List<String> dirs = new ArrayList<>(DRIVER_DIRS);
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            dirs.addAll(List.of(ld.split(":")));
        }
        for (String dir : dirs) {
            if (!dir.isEmpty() && Files.exists(Path.of(dir, "libcuda.so.1"))) {
                return true;
            }
        }
        return false;
    }

    private static String loadStandIn() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("gradus-no-driver");
        Path src = dir.resolve("no_driver.c");
        Path lib = dir.resolve("libcuda.so.1");
        Files.writeString(src, "void gradus_no_driver(void) {}\n");
        Process p;
        try {
            p = new ProcessBuilder(
                            "cc", "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o", lib.toString(), src.toString())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            return "no NVIDIA driver and no C compiler (cc) to stand in for libcuda.so.1: " + e.getMessage();
        }
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            return "cc could not build the stand-in libcuda.so.1: " + log.trim();
        }
        System.load(lib.toString());
        try {
            Files.delete(lib);
            Files.delete(src);
            Files.delete(dir);
        } catch (IOException e) {
            // The library is mapped already; a leftover temporary file is harmless.
        }
        return null;
    }
}
