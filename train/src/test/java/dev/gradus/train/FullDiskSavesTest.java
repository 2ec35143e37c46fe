package dev.gradus.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradus.train.SaveKinds.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk fills up during every kind of save (a model, a checkpoint, the train module's report files, a Kaggle
 * submission, an IDX file): each failed save is one line naming the file and the reason, the file saved before is
 * unchanged byte for byte, a save that still fitted is whole, and no temporary file is left. Two ways: a file size
 * limit ({@code ulimit -f}, any user: the write fails part way with "File too large"), and, where the test may mount
 * (root), a real 2 MB tmpfs filled up in a mount namespace of its own ("No space left on device").
 */
class FullDiskSavesTest {
    @TempDir
    Path dir;

    private static final int NEW = 7;

    /** Saves version 0 of every kind into {@code into}; their bytes. */
    private static Map<Kind, byte[]> goodFiles(Path into) throws Exception {
        Map<Kind, byte[]> bytes = new EnumMap<>(Kind.class);
        try (SaveKinds.Saver s = new SaveKinds.Saver()) {
            for (Kind k : Kind.values()) {
                s.save(k, into, 0);
                bytes.put(k, Files.readAllBytes(into.resolve(k.file)));
            }
        }
        return bytes;
    }

    /** Runs {@code command}; its lines. */
    private static List<String> run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return List.of(new String(out, StandardCharsets.UTF_8).split("\n"));
    }

    /**
     * Checks what the child's {@code once} pass over {@code files} said, against the files saved before.
     *
     * @param named the folder the child saved into, as its messages name it
     * @return how many saves failed
     */
    private static int check(
            List<String> lines, Path files, Path named, Map<Kind, byte[]> before, String reason, List<String> failed)
            throws IOException {
        int errors = 0;
        for (Kind k : Kind.values()) {
            List<String> said =
                    lines.stream().filter(l -> l.startsWith(k + " ")).toList();
            if (said.size() != 1) {
                failed.add(k + ": the child said " + said + " (all it said: " + lines + ")");
                continue;
            }
            String line = said.get(0);
            if (line.equals(k + " ok")) {
                try {
                    int v = SaveKinds.verify(k, files);
                    if (v != -1 && v != NEW && v != Math.floorMod(NEW, 10)) {
                        failed.add(k + ": saved, but the file is version " + v);
                    }
                } catch (Exception | AssertionError e) {
                    failed.add(k + ": a save that fitted left a file that does not load: " + e);
                }
                continue;
            }
            errors++;
            String file = named.resolve(k.file).toString();
            if (!line.startsWith(k + " error IOException: ") && !line.startsWith(k + " error FileSystemException: ")
                    || !line.contains(file + ": ")
                    || !line.contains(reason)
                    || line.contains("\\n")
                    || line.length() > 400) {
                failed.add(k + ": not one line naming the file and '" + reason + "': " + line);
            }
            try {
                assertArrayEquals(before.get(k), Files.readAllBytes(files.resolve(k.file)));
            } catch (AssertionError e) {
                failed.add(k + ": the file saved before changed after a failed save");
            }
        }
        List<String> temps = SaveKinds.temporaryFiles(files);
        if (!temps.isEmpty()) {
            failed.add("temporary files left: " + temps);
        }
        return errors;
    }

    @Test
    void aFileSizeLimitMidSaveKeepsEveryOldFileAndNamesIt() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "needs bash for ulimit");
        Map<Kind, byte[]> before = goodFiles(dir);
        List<String> failed = new ArrayList<>();
        // 1 kB: every save fails part way; 64 kB: the large ones fail, the small ones fit
        int[] errors = new int[2];
        int[] limits = {1, 64};
        for (int n = 0; n < limits.length; n++) {
            List<String> cmd =
                    new ArrayList<>(List.of("/bin/bash", "-c", "ulimit -f " + limits[n] + " && exec \"$@\"", "bash"));
            cmd.addAll(SaveKinds.command("once", dir.toString(), Integer.toString(NEW)));
            List<String> lines = run(cmd);
            errors[n] = check(lines, dir, dir, before, "File too large", failed);
            // what fitted is the file now
            for (Kind k : Kind.values()) {
                before.put(k, Files.readAllBytes(dir.resolve(k.file)));
            }
        }
        assertEquals(List.of(), failed, String.join("\n", failed));
        assertEquals(Kind.values().length, errors[0], "every kind of save failed at 1 kB");
        assertTrue(errors[1] >= 2 && errors[1] < Kind.values().length, errors[1] + " saves failed at 64 kB");
        // room again: every save works and is whole
        try (SaveKinds.Saver s = new SaveKinds.Saver()) {
            for (Kind k : Kind.values()) {
                s.save(k, dir, NEW + 1);
                SaveKinds.verify(k, dir);
            }
        }
        System.out.println("FullDiskSavesTest: ulimit 1 kB: " + errors[0] + " saves failed; 64 kB: " + errors[1]);
    }

    @Test
    void aRealFullTmpfsKeepsEveryOldFileAndNamesIt() throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        assumeTrue(root && Files.isExecutable(Path.of("/usr/bin/unshare")), "needs root and unshare to mount a tmpfs");
        Path good = Files.createDirectory(dir.resolve("good"));
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        Path out = Files.createDirectory(dir.resolve("out"));
        Map<Kind, byte[]> before = goodFiles(good);
        // a private mount namespace: the tmpfs is gone when the shell ends, whatever happens
        String script = "set -e; mount -t tmpfs -o size=2m tmpfs \"$1\"; cp -a \"$2\"/. \"$1\"/;"
                + " avail=$(df --output=avail -B1 \"$1\" | tail -1);"
                + " head -c $((avail - 16384)) /dev/zero > \"$1/filler\" || true;"
                + " echo \"free: $(df --output=avail -B1 \"$1\" | tail -1)\";"
                + " shift 3; \"$@\" || true; m=\"$MNT\"; rm -f \"$m/filler\"; cp -a \"$m\"/. \"$OUT\"/";
        List<String> cmd = new ArrayList<>(List.of(
                "/usr/bin/env",
                "MNT=" + mnt,
                "OUT=" + out,
                "/usr/bin/unshare",
                "-m",
                "/bin/bash",
                "-c",
                script,
                "bash",
                mnt.toString(),
                good.toString(),
                out.toString()));
        cmd.addAll(SaveKinds.command("once", mnt.toString(), Integer.toString(NEW)));
        List<String> lines = run(cmd);
        assumeTrue(lines.stream().anyMatch(l -> l.startsWith("free: ")), "could not mount a tmpfs: " + lines);
        List<String> failed = new ArrayList<>();
        int errors = check(lines, out, mnt, before, "No space left on device", failed);
        assertEquals(List.of(), failed, String.join("\n", failed));
        assertTrue(errors >= 2, errors + " saves failed on the full disk: " + lines);
        System.out.println("FullDiskSavesTest: full tmpfs: " + errors + " saves failed; " + lines);
    }
}
