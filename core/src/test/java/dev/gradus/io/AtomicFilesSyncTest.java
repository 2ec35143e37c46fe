package dev.gradus.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The order of system calls that makes a save survive a power cut, as the kernel sees it (traced with strace in a
 * child JVM): the temporary file's data is fsync'ed before the rename that makes it the file, and the folder is
 * fsync'ed after it, so the new name is on the disk too. A rename before the data's fsync can leave an empty file
 * under the real name after a crash (the ext4 zero-length-file problem).
 */
class AtomicFilesSyncTest {
    /** The child: one atomic save of 100 kB to {@code args[0]}. */
    public static void main(String[] args) throws IOException {
        AtomicFiles.write(Path.of(args[0]), out -> out.write(new byte[100_000]));
    }

    private static final Pattern OPEN = Pattern.compile("openat\\(AT_FDCWD, \"([^\"]*)\", ([^)]*)\\)\\s+= (\\d+)");
    private static final Pattern FSYNC = Pattern.compile("f(?:data)?sync\\((\\d+)\\)\\s+= 0");
    private static final Pattern RENAME = Pattern.compile("rename(?:at2?)?\\(.*\"([^\"]*)\".*\"([^\"]*)\".*\\) = 0");

    @Test
    void theDataIsOnTheDiskBeforeTheRenameAndTheFolderAfterIt(@TempDir Path dir) throws Exception {
        assumeTrue(works(List.of("strace", "-o", "/dev/null", "true")), "strace is not installed or not allowed here");
        Path target = dir.resolve("model.safetensors").toAbsolutePath();
        Path trace = dir.resolve("trace.txt");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(
                        "strace",
                        "-f",
                        "-qq",
                        "-e",
                        "trace=openat,fsync,fdatasync,rename,renameat,renameat2",
                        "-o",
                        trace.toString(),
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        AtomicFilesSyncTest.class.getName(),
                        target.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("child.log").toFile())
                .start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the traced save did not finish");
        assertEquals(0, p.exitValue(), Files.readString(dir.resolve("child.log")));
        assertEquals(100_000, Files.size(target));

        List<String> lines = joined(Files.readAllLines(trace, StandardCharsets.UTF_8));
        int renameAt = -1;
        String tmpName = null;
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = RENAME.matcher(lines.get(i));
            if (m.find() && m.group(2).equals(target.toString())) {
                renameAt = i;
                tmpName = m.group(1);
            }
        }
        assertTrue(renameAt >= 0, "no rename onto " + target + " in the trace:\n" + String.join("\n", lines));
        // The temporary file's last open before the rename, and an fsync of that descriptor between the two.
        String tmpFd = null;
        int openAt = -1;
        for (int i = 0; i < renameAt; i++) {
            Matcher m = OPEN.matcher(lines.get(i));
            if (m.find() && m.group(1).equals(tmpName)) {
                tmpFd = m.group(3);
                openAt = i;
            }
        }
        assertTrue(tmpFd != null, "the temporary file " + tmpName + " was never opened");
        assertTrue(
                syncs(lines, tmpFd, openAt, renameAt),
                "no fsync of " + tmpName + " (fd " + tmpFd + ") before its rename:\n"
                        + String.join("\n", lines.subList(openAt, renameAt + 1)));
        // The folder opened after the rename, then fsync'ed.
        String dirFd = null;
        int dirOpenAt = -1;
        for (int i = renameAt + 1; i < lines.size() && dirFd == null; i++) {
            Matcher m = OPEN.matcher(lines.get(i));
            if (m.find() && m.group(1).equals(dir.toAbsolutePath().toString())) {
                dirFd = m.group(3);
                dirOpenAt = i;
            }
        }
        assertTrue(dirFd != null, "the folder " + dir + " was not opened after the rename");
        assertTrue(syncs(lines, dirFd, dirOpenAt, lines.size()), "the folder was not fsync'ed after the rename");
    }

    /** A trace seen on a loaded machine: the second open of the temporary file was interrupted by another thread. */
    @Test
    void aCallInterruptedByAnotherThreadIsReadWhereItReturned() {
        List<String> trace = List.of(
                "1029  openat(AT_FDCWD, \"/t/.m.1028-2d.gradus-tmp\", O_WRONLY|O_CREAT|O_EXCL, 0600) = 6",
                "1029  openat(AT_FDCWD, \"/t/.m.1028-2d.gradus-tmp\", O_WRONLY <unfinished ...>",
                "1042  openat(AT_FDCWD, \"/sys/fs/cgroup/memory.limit_in_bytes\", O_RDONLY <unfinished ...>",
                "1042  <... openat resumed>)             = 6",
                "1029  <... openat resumed>)             = 8",
                "1029  fsync(8)                          = 0");
        List<String> fds = new ArrayList<>();
        for (String line : joined(trace)) {
            Matcher m = OPEN.matcher(line);
            if (m.find() && m.group(1).equals("/t/.m.1028-2d.gradus-tmp")) {
                fds.add(m.group(3));
            }
        }
        assertEquals(List.of("6", "8"), fds);
    }

    private static final Pattern UNFINISHED = Pattern.compile("^(\\d+)\\s+(.*) <unfinished \\.\\.\\.>$");
    private static final Pattern RESUMED = Pattern.compile("^(\\d+)\\s+<\\.\\.\\. \\w+ resumed>(.*)$");

    /**
     * The trace with each call that another thread interrupted ({@code openat(... <unfinished ...>}, later
     * {@code <... openat resumed>) = 8}) joined into one line where it returned: otherwise a file opened while
     * another thread made a call is not seen opened, and an earlier descriptor of it is taken for the one synced.
     */
    static List<String> joined(List<String> raw) {
        Map<String, String> pending = new HashMap<>();
        List<String> out = new ArrayList<>();
        for (String line : raw) {
            Matcher u = UNFINISHED.matcher(line);
            Matcher r = RESUMED.matcher(line);
            if (u.matches()) {
                pending.put(u.group(1), u.group(2));
            } else if (r.matches() && pending.containsKey(r.group(1))) {
                out.add(r.group(1) + "  " + pending.remove(r.group(1)) + r.group(2));
            } else {
                out.add(line);
            }
        }
        return out;
    }

    private static boolean syncs(List<String> lines, String fd, int from, int to) {
        for (int i = from + 1; i < to; i++) {
            Matcher m = FSYNC.matcher(lines.get(i));
            if (m.find() && m.group(1).equals(fd)) {
                return true;
            }
        }
        return false;
    }

    private static boolean works(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
