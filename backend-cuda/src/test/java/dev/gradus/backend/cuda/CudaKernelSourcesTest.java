package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.UnaryOp;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA kernel sources without a GPU: their op codes match the SPI enums, every op has a case, and each source
 * (and all of them as one unit, as NVRTC gets them) compiles with {@code nvcc} for the H100 when nvcc is on the PATH.
 */
class CudaKernelSourcesTest {
    private static Map<String, Integer> defines(String prefix) {
        Map<String, Integer> out = new TreeMap<>();
        Matcher m =
                Pattern.compile("#define " + prefix + "_([A-Z_0-9]+) (\\d+)").matcher(CudaKernels.header());
        while (m.find()) {
            out.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        return out;
    }

    private static <E extends Enum<E>> void sameCodes(String prefix, Class<E> type, String source) {
        Map<String, Integer> codes = defines(prefix);
        Map<String, Integer> expected = new TreeMap<>();
        for (E e : type.getEnumConstants()) {
            expected.put(e.name(), e.ordinal());
        }
        assertEquals(expected, codes, prefix + " codes in common.cuh against " + type.getSimpleName());
        if (source != null) {
            String text = CudaKernels.raw(source);
            for (String name : expected.keySet()) {
                assertTrue(
                        text.contains("case " + prefix + "_" + name + ":"), source + " handles " + prefix + "_" + name);
            }
        }
    }

    @Test
    void opCodesMatchTheSpiEnums() {
        sameCodes("UNARY", UnaryOp.class, "elementwise.cu");
        sameCodes("BINARY", BinaryOp.class, "elementwise.cu");
        sameCodes("REDUCE", ReduceOp.class, null);
        sameCodes("POOL", dev.gradus.spi.PoolOp.class, null);
        // No table kept by hand: the raw header has no codes of its own.
        assertTrue(!CudaKernels.raw(CudaKernels.HEADER).contains("#define UNARY_"), "common.cuh defines no op code");
    }

    /** The first {@code nvcc} on the PATH, or null. */
    static String nvcc() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, "nvcc");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    private static void compile(String nvcc, Path cu, Path dir) throws IOException, InterruptedException {
        Path ptx = dir.resolve(cu.getFileName() + ".ptx");
        List<String> cmd = new ArrayList<>(List.of(
                nvcc,
                "--ptx",
                "-arch=sm_90",
                "-std=c++17",
                "--Werror",
                "all-warnings",
                "-o",
                ptx.toString(),
                cu.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nvcc timed out on " + cu.getFileName());
        assertEquals(0, p.exitValue(), "nvcc " + cu.getFileName() + ":\n" + log);
        String text = Files.readString(ptx);
        assertTrue(text.contains(".entry gradus_"), cu.getFileName() + " has no gradus_ entry points");
    }

    @Test
    void everySourceCompilesWithNvcc(@TempDir Path dir) throws Exception {
        String nvcc = nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH: the CUDA kernel sources were not compiled");
        Files.writeString(dir.resolve(CudaKernels.HEADER), CudaKernels.header());
        for (String s : CudaKernels.SOURCES) {
            Path cu = dir.resolve(s);
            Files.writeString(cu, CudaKernels.raw(s));
            compile(nvcc, cu, dir);
            Path inlined = dir.resolve("inlined-" + s);
            Files.writeString(inlined, CudaKernels.source(s));
            compile(nvcc, inlined, dir);
        }
        Path all = dir.resolve("all.cu");
        Files.writeString(all, CudaKernels.all());
        compile(nvcc, all, dir);
        String ptx = Files.readString(dir.resolve("all.cu.ptx"));
        for (String entry : CudaKernels.ENTRY_POINTS) {
            assertTrue(ptx.contains(".entry " + entry + "("), "all.cu exports " + entry);
        }
    }
}
