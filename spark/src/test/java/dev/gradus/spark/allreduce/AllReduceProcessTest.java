package dev.gradus.spark.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The all-reduce between three separate JVMs on the loopback, and what the survivors say when one is killed. */
class AllReduceProcessTest {
    @TempDir
    Path dir;

    private Process start(int rank, int size, long timeoutMs, int rounds, String lens) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(
                        java,
                        "-Xmx512m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        AllReduceProcess.class.getName(),
                        Integer.toString(rank),
                        Integer.toString(size),
                        dir.toString(),
                        Long.toString(timeoutMs),
                        Integer.toString(rounds),
                        lens)
                .redirectError(dir.resolve("err-" + rank + ".txt").toFile())
                .start();
    }

    private static List<String> lines(Process p) throws IOException {
        List<String> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null; ) {
                out.add(l);
            }
        }
        return out;
    }

    @Test
    void threeProcessesAgreeBitForBitOnOddAndLargeBuffers() throws Exception {
        String lens = "1,7,1001,65537,3000001";
        List<Process> ps = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            ps.add(start(r, 3, 20_000, 2, lens));
        }
        List<List<String>> out = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            out.add(lines(ps.get(r)));
            assertTrue(ps.get(r).waitFor(60, TimeUnit.SECONDS), "rank " + r + " did not finish");
            assertEquals(
                    0, ps.get(r).exitValue(), "rank " + r + ": " + Files.readString(dir.resolve("err-" + r + ".txt")));
        }
        assertEquals(10, out.get(0).size(), out.get(0).toString());
        assertEquals(out.get(0), out.get(1), "ranks 0 and 1 hold the same bits");
        assertEquals(out.get(0), out.get(2), "ranks 0 and 2 hold the same bits");
    }

    @Test
    void killingOneProcessMidwayFailsTheOthersWithinTheTimeout() throws Exception {
        long timeoutMs = 5_000;
        List<Process> ps = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            ps.add(start(r, 3, timeoutMs, 10_000, "2000003"));
        }
        // Wait until rank 1 has finished a few sums, then kill it (SIGKILL: no goodbye on its sockets' side
        // beyond what the kernel does).
        try (BufferedReader r1 =
                new BufferedReader(new InputStreamReader(ps.get(1).getInputStream(), StandardCharsets.UTF_8))) {
            for (int i = 0; i < 3; i++) {
                String l = r1.readLine();
                assertTrue(l != null && l.startsWith("round " + i), "rank 1 printed " + l);
            }
            long t0 = System.nanoTime();
            ps.get(1).destroyForcibly();
            for (int r : new int[] {0, 2}) {
                Process p = ps.get(r);
                p.getInputStream().transferTo(OutputStream.nullOutputStream());
                assertTrue(p.waitFor(timeoutMs * 3, TimeUnit.MILLISECONDS), "rank " + r + " hangs after the kill");
                double s = (System.nanoTime() - t0) / 1e9;
                String err = Files.readString(dir.resolve("err-" + r + ".txt")).trim();
                assertEquals(2, p.exitValue(), "rank " + r + " should fail; stderr: " + err);
                assertTrue(err.startsWith("AllReduceException: rank " + r + ": "), err);
                assertTrue(err.contains("rank 1 at") || err.contains("rank " + (r == 0 ? 2 : 0) + " at"), err);
                assertTrue(s < timeoutMs / 1e3 + 5, "rank " + r + " failed only after " + s + " s");
                System.out.printf("rank %d failed %.2f s after the kill: %s%n", r, s, err);
            }
        } finally {
            ps.forEach(Process::destroyForcibly);
        }
    }
}
