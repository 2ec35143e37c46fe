package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Gradus;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
import dev.gradus.testing.TrainSteps;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Native memory stays bounded. The backend's buffer cache keeps at most the peak live bytes (at least 16 MiB) and is
 * given back when an allocation fails; an allocation that still fails names the op, the shape, the bytes and
 * JavaCPP's cap. And code that never closes a tensor nor opens a scope, as a new user writes it: the native memory stays bounded
 * because the GC frees unreachable tensors and runs when unscoped memory passes {@code gradus.maxUnscopedBytes}
 * (256 MiB by default). Without that net the loops below held 1.2 GB and growing.
 */
class UnscopedMemoryTest {
    /** The default bound plus headroom for what one step allocates and the live model. */
    private static final long BOUND = 320L << 20;

    private static long live(Backend b) {
        return b.memory().liveBytes();
    }

    @Test
    void unscopedInferenceLoopStaysBounded() {
        Backend be = CpuBackendProvider.get();
        long before = live(be);
        try (Dense dense = new Dense(be, 784, 64, true, dev.gradus.nn.Init.GLOROT, new Rng(1))) {
            // 6000 steps allocate about 1.3 GB (each input is 200 KB and the graph keeps it).
            assertTrue(inferenceLoop(be, dense, before) < BOUND);
        }
        Gradus.freeUnreachable();
        assertTrue(live(be) - before < 1 << 20, "what the loop dropped is freed: " + (live(be) - before) + " bytes");
    }

    /** The loop in a method of its own so that none of its tensors is reachable after it. */
    private static long inferenceLoop(Backend be, Dense dense, long before) {
        long peak = 0;
        for (int step = 0; step < 6000; step++) {
            Tensor x = Tensor.zeros(64, 784);
            int[] p = dense.forward(x).argmax(1).toIntArray();
            assertEquals(64, p.length);
            peak = Math.max(peak, live(be) - before);
            assertTrue(peak < BOUND, "step " + step + ": " + peak + " bytes live");
        }
        return peak;
    }

    @Test
    void unscopedTrainingLoopStaysBounded() {
        Backend be = CpuBackendProvider.get();
        long before = live(be);
        Rng rng = new Rng(2);
        Sequential model = new Sequential(
                new Dense(be, 784, 48, true, dev.gradus.nn.Init.GLOROT, rng),
                new ReLU(),
                new Dense(be, 48, 10, true, dev.gradus.nn.Init.GLOROT, rng));
        Adam opt = new Adam(model.parameters(), Adam.Config.lr(0.001f));
        float[] losses = trainingLoop(be, model, opt, before);
        assertTrue(losses[1] < losses[0] / 2, "the loop trained: loss " + losses[0] + " -> " + losses[1]);
        opt.close();
        model.close();
        Gradus.freeUnreachable();
        assertTrue(live(be) - before < 1 << 20, "what the loop dropped is freed: " + (live(be) - before) + " bytes");
    }

    private static float[] trainingLoop(Backend be, Sequential model, Adam opt, long before) {
        float[] xs = new float[64 * 784];
        int[] ys = new int[64];
        Random r = new Random(3);
        for (int i = 0; i < xs.length; i++) {
            xs[i] = r.nextFloat();
        }
        for (int i = 0; i < ys.length; i++) {
            ys[i] = r.nextInt(10);
        }
        float first = 0;
        float last = 0;
        long peak = 0;
        for (int step = 0; step < 6000; step++) {
            Tensor x = Tensor.of(be, xs, 64, 784);
            Tensor y = Tensor.ofInts(be, ys, 64);
            last = TrainSteps.crossEntropy(model, opt, x, y);
            if (step == 0) {
                first = last;
            }
            peak = Math.max(peak, live(be) - before);
            assertTrue(peak < BOUND, "step " + step + ": " + peak + " bytes live");
        }
        return new float[] {first, last};
    }

    /** A program that drops tensors unclosed, run in its own JVM with leak detection on. */
    public static final class LeakyProgram {
        public static void main(String[] args) {
            Backend be = CpuBackendProvider.get();
            for (int i = 0; i < 3000; i++) {
                makeGarbage(be);
            }
        }

        static void makeGarbage(Backend be) {
            Tensor.full(be, 0f, 256, 1024).add(1f).sum().item(); // 1 MB a call, never closed
        }
    }

    @Test
    void leakDetectionLogsWhereUnclosedTensorsWereMade() throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process p = new ProcessBuilder(List.of(
                        java,
                        "-Dgradus.leakDetection=on",
                        "-Xmx256m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        LeakyProgram.class.getName()))
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the leaky program finished");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("Gradus leak report"), out);
        assertTrue(out.contains("UnscopedMemoryTest$LeakyProgram.makeGarbage(UnscopedMemoryTest.java:"), out);
    }

    /**
     * Scoped inference over every batch size from 1 to 200, as a server sees it, in its own JVM; prints the most
     * bytes the cache held, the peak live bytes and the native allocations. With {@code huge}, allocates 256 MiB
     * and prints the error's message.
     */
    public static final class BatchSizesProgram {
        public static void main(String[] args) {
            CpuBackend be = CpuBackendProvider.get();
            if (args.length > 0 && args[0].equals("huge")) {
                try (Scope s = Scope.open()) {
                    Tensor.zeros(8192, 8192).sum().item();
                    System.out.println("allocated");
                } catch (OutOfMemoryError e) {
                    System.out.println("message: " + e.getMessage());
                }
                return;
            }
            if (args.length > 0 && args[0].equals("hugeAdd")) {
                try (Scope s = Scope.open()) {
                    Tensor x = Tensor.zeros(4096, 4096);
                    x.add(x).sum().item();
                    System.out.println("allocated");
                } catch (OutOfMemoryError e) {
                    System.out.println("message: " + e.getMessage());
                }
                return;
            }
            Rng rng = new Rng(4);
            long maxReserved = 0;
            long peakLive = 0;
            try (Sequential model = new Sequential(
                    new Dense(be, 784, 256, true, dev.gradus.nn.Init.GLOROT, rng),
                    new ReLU(),
                    new Dense(be, 256, 10, true, dev.gradus.nn.Init.GLOROT, rng))) {
                for (int batch = 1; batch <= 200; batch++) {
                    try (Scope s = Scope.open()) {
                        int[] p = model.forward(Tensor.zeros(batch, 784))
                                .argmax(1)
                                .toIntArray();
                        peakLive = Math.max(peakLive, be.memory().liveBytes());
                        if (p.length != batch) {
                            throw new AssertionError(batch + " rows, got " + p.length);
                        }
                    }
                    maxReserved = Math.max(maxReserved, be.memory().reservedBytes());
                }
            }
            System.out.println(
                    "result " + maxReserved + " " + peakLive + " " + be.memory().allocations());
        }
    }

    private static String runBatchSizes(List<String> jvmOptions, String... args) throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), BatchSizesProgram.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the program finished");
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    private static long[] result(String out) {
        String line =
                out.lines().filter(l -> l.startsWith("result ")).findFirst().orElseThrow(() -> new AssertionError(out));
        String[] f = line.split(" ");
        return new long[] {Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3])};
    }

    /** Every size cached held 130 MB after the loop and failed under a 32 MB native cap. */
    @Test
    void scopedInferenceOverBatchSizesKeepsTheCacheBounded() throws Exception {
        String out = runBatchSizes(List.of("-Dorg.bytedeco.javacpp.maxBytes=32m"));
        long[] r = result(out);
        assertTrue(r[1] < 8L << 20, "peak live " + r[1]);
        assertTrue(r[0] <= 16L << 20, "cached " + r[0] + " bytes: " + out);
    }

    /** With the cache unbounded, only giving it back when an allocation fails lets the loop finish. */
    @Test
    void aFailedAllocationGivesTheCacheBackAndRetries() throws Exception {
        String out = runBatchSizes(
                List.of("-Dorg.bytedeco.javacpp.maxBytes=32m", "-Dgradus.cpu.maxCachedBytes=100000000000"));
        long[] r = result(out);
        assertTrue(r[0] <= 32L << 20, "cached " + r[0] + " bytes: " + out);
    }

    @Test
    void outOfMemoryNamesTheOpShapeBytesAndJavaCppCap() throws Exception {
        String out = runBatchSizes(List.of("-Dorg.bytedeco.javacpp.maxBytes=32m"), "huge");
        String msg = out.lines()
                .filter(l -> l.startsWith("message: "))
                .findFirst()
                .orElseThrow(() -> new AssertionError(out));
        assertTrue(msg.contains("Tensor.zeros"), msg);
        assertTrue(msg.contains("[8192, 8192]"), msg);
        assertTrue(msg.contains("268435456 bytes"), msg);
        assertTrue(msg.contains("-Xmx"), msg);
        assertTrue(msg.contains("-Dorg.bytedeco.javacpp.maxBytes="), msg);
        assertTrue(msg.length() < 600, msg);
    }

    /** An elementwise op's allocation is named by the Tensor method the user called, not the op machinery. */
    @Test
    void outOfMemoryInAnElementwiseOpNamesTheTensorMethod() throws Exception {
        String out = runBatchSizes(List.of("-Dorg.bytedeco.javacpp.maxBytes=100m"), "hugeAdd");
        String msg = out.lines()
                .filter(l -> l.startsWith("message: "))
                .findFirst()
                .orElseThrow(() -> new AssertionError(out));
        assertTrue(
                msg.contains("out of memory: Tensor.add (called from UnscopedMemoryTest$BatchSizesProgram.main)"), msg);
        assertTrue(msg.contains("[4096, 4096]"), msg);
    }
}
