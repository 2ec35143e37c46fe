package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every CUDA runtime and driver function the backend calls exists in CUDA 13.0, the oldest CUDA 13 we run on.
 *
 * <p>The JavaCPP wrappers are built for 13.1 and load against 13.0 because symbols bind lazily; calling one of the
 * functions 13.1 added ends the JVM with a symbol lookup error instead of throwing. So the calls are read from
 * the backend's bytecode and looked up in the CUDA 13.0 toolkit next to {@code nvcc} (the runtime's exported
 * symbols, the driver API's header). Skips with the reason when no CUDA 13.0 toolkit is found.
 */
class CudaSymbolsTest {
    private static final Pattern CALL = Pattern.compile("Method org/bytedeco/cuda/global/(\\w+)\\.(\\w+):");

    /** {library -> functions} called from the backend's classes. */
    private static Set<String> calls(String library) throws IOException {
        Optional<ToolProvider> tool = ToolProvider.findFirst("javap");
        assumeTrue(tool.isPresent(), "this Java runtime has no javap (jdk.jdeps) to read the backend's calls with");
        ToolProvider javap = tool.get();
        Path classes = Path.of(CudaBackend.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .getPath());
        List<String> files;
        try (Stream<Path> s = Files.walk(classes)) {
            files = s.filter(p -> p.toString().endsWith(".class"))
                    .map(Path::toString)
                    .collect(Collectors.toList());
        }
        assertFalse(files.isEmpty(), "no classes under " + classes);
        List<String> args = new ArrayList<>(List.of("-c", "-p"));
        args.addAll(files);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = javap.run(new PrintWriter(out), new PrintWriter(err), args.toArray(new String[0]));
        assertTrue(rc == 0, "javap: " + err);
        Set<String> names = new TreeSet<>();
        Matcher m = CALL.matcher(out.toString());
        while (m.find()) {
            if (m.group(1).equals(library)) {
                names.add(m.group(2));
            }
        }
        return names;
    }

    private static Path toolkit() {
        String nvcc = CudaKernelSourcesTest.nvcc();
        if (nvcc == null) {
            return null;
        }
        try {
            // /usr/local/bin/nvcc may be a wrapper script; ask nvcc where it lives.
            Process p = new ProcessBuilder(nvcc, "--dryrun", "-c", "-x", "cu", "/dev/null", "-o", "/dev/null")
                    .redirectErrorStream(true)
                    .start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            Matcher m = Pattern.compile("TOP=(\\S+)").matcher(text);
            Path top = m.find()
                    ? Path.of(m.group(1))
                    : Path.of(nvcc).toRealPath().getParent().getParent();
            return top.toRealPath();
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    private static Set<String> exported(Path lib) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("readelf", "--dyn-syms", "-W", lib.toString())
                .redirectErrorStream(true)
                .start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "readelf " + lib + ": " + text);
        Set<String> names = new TreeSet<>();
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            // Defined symbols only: Ndx is a section number, not UND.
            if (f.length >= 8 && !f[6].equals("UND") && f[3].equals("FUNC")) {
                names.add(f[7].replaceAll("@.*", ""));
            }
        }
        return names;
    }

    @Test
    void everyRuntimeAndDriverCallExistsInCuda13_0() throws Exception {
        Path top = toolkit();
        assumeTrue(top != null, "nvcc is not on the PATH: no CUDA 13.0 toolkit to check the backend's calls against");
        Path runtimeApi = top.resolve("include/cuda_runtime_api.h");
        Path driverApi = top.resolve("include/cuda.h");
        Path cudart = top.resolve("lib64/libcudart.so.13");
        assumeTrue(
                Files.isRegularFile(runtimeApi) && Files.isRegularFile(driverApi) && Files.isRegularFile(cudart),
                "the CUDA toolkit at " + top + " has no libcudart.so.13 and headers");
        assumeTrue(
                Files.readString(runtimeApi).contains("#define CUDART_VERSION  13000"),
                "the CUDA toolkit at " + top + " is not CUDA 13.0");
        Set<String> runtime = exported(cudart);
        String driverHeader = Files.readString(driverApi);

        Set<String> called = calls("cudart");
        assertTrue(called.contains("cudaMalloc") && called.contains("cuLaunchKernel"), "found the calls: " + called);
        List<String> missing = new ArrayList<>();
        for (String f : called) {
            boolean found = f.startsWith("cuda")
                    ? runtime.contains(f)
                    : driverHeader.contains("CUDAAPI " + f + "(") || driverHeader.contains("#define " + f + " ");
            if (!found) {
                missing.add(f);
            }
        }
        assertTrue(missing.isEmpty(), "not in CUDA 13.0 (calling them would end the JVM): " + missing);
        // The check can fail: a function that 13.1 added is not there.
        assertFalse(runtime.contains("cudaGreenCtxCreate"), "cudaGreenCtxCreate is new in 13.1");
    }
}
