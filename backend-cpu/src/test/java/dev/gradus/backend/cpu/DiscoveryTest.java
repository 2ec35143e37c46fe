package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Backends;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ServiceLoader finds the CPU backend on the class path and, as named modules, on the module path. */
class DiscoveryTest {
    @Test
    void foundOnTheClassPath() {
        assertEquals("cpu", Backends.get("cpu").name());
        assertTrue(Backends.list().stream().anyMatch(i -> i.name().equals("cpu") && i.available()));
    }

    @Test
    void unknownBackendNamesTheModuleToAdd() {
        IllegalStateException e = Assertions.assertThrows(IllegalStateException.class, () -> Backends.get("cuda"));
        assertTrue(e.getMessage().contains("dev.gradus:gradus-backend-cuda"), e.getMessage());
    }

    @Test
    void weakKernelWarningOnlyWhenTheCpuCouldDoBetter() {
        assertTrue(OpenBlasInfo.warningFor("Haswell", true, "Haswell").contains("OPENBLAS_CORETYPE=SkylakeX"));
        assertTrue(OpenBlasInfo.warningFor("Zen", true, null).contains("AVX-512"));
        assertNull(OpenBlasInfo.warningFor("SkylakeX", true, "SkylakeX"));
        assertNull(OpenBlasInfo.warningFor("Cooperlake", true, null));
        assertNull(OpenBlasInfo.warningFor("Haswell", false, null));
    }

    @Test
    void foundOnTheModulePath(@TempDir Path tmp) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> modulePath = new ArrayList<>();
        for (String entry : cp.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            String name = p.getFileName().toString();
            if (Files.isDirectory(p) && p.endsWith(Path.of("core", "target", "classes"))) {
                modulePath.add(jar(p, tmp.resolve("gradus-core.jar"), "dev.gradus.core")
                        .toString());
            } else if (Files.isDirectory(p) && p.endsWith(Path.of("backend-cpu", "target", "classes"))) {
                modulePath.add(jar(p, tmp.resolve("gradus-backend-cpu.jar"), "dev.gradus.backend.cpu")
                        .toString());
            } else if (name.endsWith(".jar")
                    && !name.contains("-platform")
                    && !name.contains("tests")
                    && (name.startsWith("javacpp")
                            || name.startsWith("openblas")
                            || name.startsWith("jna")
                            || name.startsWith("slf4j-api")
                            || name.startsWith("gradus-core-")
                            || name.startsWith("gradus-backend-cpu"))) {
                modulePath.add(entry);
            }
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process proc = new ProcessBuilder(
                        java,
                        "--module-path",
                        String.join(File.pathSeparator, modulePath),
                        "--add-modules",
                        "ALL-MODULE-PATH",
                        "-m",
                        "dev.gradus.core/dev.gradus.Gradus")
                .redirectErrorStream(true)
                .start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, proc.waitFor(), out);
        assertTrue(out.contains("module path as dev.gradus.core"), out);
        assertTrue(out.contains("backend cpu: available"), out);
        assertTrue(out.contains("default cpu"), out);
    }

    private static Path jar(Path classes, Path jar, String moduleName) throws IOException {
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().putValue("Automatic-Module-Name", moduleName);
        try (OutputStream fo = Files.newOutputStream(jar);
                JarOutputStream out = new JarOutputStream(fo, mf);
                Stream<Path> files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    out.putNextEntry(
                            new JarEntry(classes.relativize(f).toString().replace(File.separatorChar, '/')));
                    Files.copy(f, out);
                    out.closeEntry();
                }
            }
        }
        return jar;
    }
}
