package dev.gradus.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Saves leave the old file or the new one, and nothing else: no temporary files after a killed save, the file's
 * permissions and symbolic links kept, and a failure (a full disk) names the file and keeps the old contents.
 */
class AtomicFilesTest {
    @TempDir
    Path dir;

    private static final boolean POSIX =
            FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void savingOverAFileKeepsItsPermissions() throws Exception {
        assumeTrue(POSIX);
        Path f = dir.resolve("secret.safetensors");
        Files.write(f, new byte[] {1});
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        AtomicFiles.write(f, out -> out.write(new byte[] {2, 3}));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        assertArrayEquals(new byte[] {2, 3}, Files.readAllBytes(f));
        Path fresh = dir.resolve("new.bin");
        AtomicFiles.write(fresh, out -> out.write(1));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
    }

    @Test
    void savingToASymbolicLinkWritesItsTargetAndKeepsTheLink() throws Exception {
        Path real = Files.createDirectories(dir.resolve("runs")).resolve("model-7.safetensors");
        Files.write(real, new byte[] {1});
        Path link = dir.resolve("latest.safetensors");
        try {
            Files.createSymbolicLink(link, Path.of("runs", "model-7.safetensors"));
        } catch (UnsupportedOperationException | IOException e) {
            assumeTrue(false, "no symbolic links here");
        }
        AtomicFiles.write(link, out -> out.write(new byte[] {4, 5}));
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(Path.of("runs", "model-7.safetensors"), Files.readSymbolicLink(link));
        assertArrayEquals(new byte[] {4, 5}, Files.readAllBytes(real));
        // a dangling link is written through too, as a shell's "> link" does
        Path dangling = dir.resolve("next.safetensors");
        Files.createSymbolicLink(dangling, Path.of("runs", "model-8.safetensors"));
        AtomicFiles.write(dangling, out -> out.write(6));
        assertTrue(Files.isSymbolicLink(dangling));
        assertArrayEquals(new byte[] {6}, Files.readAllBytes(dir.resolve("runs/model-8.safetensors")));
    }

    /** The disk fills up half way: the old file stays, no temporary file is left, the message names the file. */
    @Test
    void aFailedSaveKeepsTheOldFileAndNamesIt() throws Exception {
        Path f = dir.resolve("curves.png");
        Files.write(f, new byte[] {1, 2, 3});
        IOException e = assertThrows(
                IOException.class,
                () -> AtomicFiles.write(f, out -> {
                    out.write(new byte[100_000]);
                    throw new IOException("No space left on device");
                }));
        assertEquals(f + ": No space left on device", e.getMessage());
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(f));
        assertEquals(List.of("curves.png"), names());
        // a folder that cannot be made is named too
        Files.write(dir.resolve("plain"), new byte[0]);
        IOException e2 = assertThrows(
                IOException.class, () -> AtomicFiles.write(dir.resolve("plain/sub/m.bin"), out -> out.write(1)));
        assertTrue(e2.getMessage().startsWith(dir.resolve("plain/sub/m.bin") + ": "), e2.getMessage());
        assertFalse(e2.getMessage().contains("\n"), e2.getMessage());
    }

    /** Started as a separate JVM: saves {@code args[0]} slowly, saying when it is half way. */
    public static final class SlowSave {
        public static void main(String[] args) throws Exception {
            AtomicFiles.write(Path.of(args[0]), out -> {
                out.write(new byte[1 << 20]);
                out.flush();
                System.out.println("half way");
                System.out.flush();
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    /**
     * A save killed with SIGKILL leaves the old file whole; its temporary file is removed by the next save of the
     * same file, and nothing else is: neither look-alike files of the user's nor the file of a save in progress.
     */
    @Test
    void aKilledSaveLeavesTheOldFileAndTheNextSaveCleansUp() throws Exception {
        Path f = dir.resolve("model.safetensors");
        Files.write(f, new byte[] {7, 7, 7});
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int round = 0; round < 2; round++) {
            Process child = new ProcessBuilder(
                            java, "-cp", System.getProperty("java.class.path"), SlowSave.class.getName(), f.toString())
                    .redirectErrorStream(true)
                    .start();
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line = r.readLine();
                assertEquals("half way", line);
            }
            child.destroyForcibly(); // SIGKILL: no finally block, no shutdown hook runs
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        }
        assertArrayEquals(new byte[] {7, 7, 7}, Files.readAllBytes(f));
        List<String> traces =
                names().stream().filter(n -> n.startsWith(".model.safetensors")).toList();
        // the second killed save removed what the first left: they do not pile up
        assertEquals(1, traces.size(), traces::toString);
        // the user's own files that look alike, and a save in progress (this process, alive)
        List<String> keep = List.of(
                ".model.safetensors.notes.tmp",
                ".model.safetensors.12-x.tmp",
                "model.safetensors.123-abc.gradus-tmp",
                ".model.safetensors." + ProcessHandle.current().pid() + "-abc.gradus-tmp",
                ".other.safetensors.999999999-abc.gradus-tmp");
        for (String k : keep) {
            Files.write(dir.resolve(k), new byte[] {1});
        }
        AtomicFiles.write(f, out -> out.write(new byte[] {8}));
        assertArrayEquals(new byte[] {8}, Files.readAllBytes(f));
        List<String> left =
                names().stream().filter(n -> !n.equals("model.safetensors")).toList();
        assertEquals(keep.stream().sorted().toList(), left);
    }
}
