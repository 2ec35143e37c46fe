package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Gradus;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Code that never closes a tensor nor opens a scope, as a new user writes it: the native memory stays bounded
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
            opt.zeroGrad();
            Tensor loss = model.forward(x).crossEntropy(y);
            loss.backward();
            opt.step();
            last = loss.item();
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
}
