package dev.gradus.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.nn.FlatParameters;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
import dev.gradus.testing.TrainSteps;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The examples' models used the way applications use them: handed between threads, shared by a pool of 16 threads
 * in evaluation mode, trained two at a time on two threads. Every answer must equal the single-threaded one bit for
 * bit. {@code .ci/run} also runs this file with {@code ONEDNN_MAX_CPU_ISA=AVX2}, where oneDNN picks its gemm-based
 * convolutions (whose im2col scratchpad crashed a second thread before primitives got user-managed scratchpads).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ThreadSafetyTest {
    private static final int THREADS = 16;

    private static Sequential model(String name, Backend cpu, long seed) {
        return switch (name) {
            case "cnn" -> CnnCommand.model(cpu.device(), new Rng(seed));
            case "bn-cnn" -> BnCnnCommand.model(cpu.device(), new Rng(seed));
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static float[] images(int n, long seed) {
        Rng rng = new Rng(seed);
        float[] x = new float[n * 784];
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.nextFloat();
        }
        return x;
    }

    /** The logits of {@code count} images from {@code first} on, in batches of {@code batch}. */
    private static float[] logits(Sequential model, Backend cpu, float[] images, int first, int count) {
        try (GradMode ng = GradMode.noGrad();
                Scope s = Scope.open()) {
            float[] x = new float[count * 784];
            System.arraycopy(images, first * 784, x, 0, x.length);
            return model.forward(Tensor.of(cpu, x, count, 1, 28, 28)).toFloatArray();
        }
    }

    @Test
    void aModelFirstRunOnOneThreadRunsOnAnother() throws Exception {
        Backend cpu = CpuBackendProvider.get();
        for (String name : List.of("cnn", "bn-cnn")) {
            try (Sequential model = model(name, cpu, 11)) {
                model.eval();
                float[] images = images(8, 12);
                float[] here = logits(model, cpu, images, 0, 8);
                float[][] there = new float[1][];
                Thread t = new Thread(() -> there[0] = logits(model, cpu, images, 0, 8), "second-thread");
                t.start();
                t.join();
                assertArrayEquals(here, there[0], name + ": the same batch on a second thread");
                // And back: the main thread again after the other thread ran the primitives.
                assertArrayEquals(here, logits(model, cpu, images, 0, 8), name + ": back on the first thread");
            }
        }
    }

    @ParameterizedTest(name = "{0}, batch {1}")
    @CsvSource({"cnn, 1", "cnn, 64", "bn-cnn, 1", "bn-cnn, 64"})
    void sixteenThreadsSharingAModelAnswerAsOneThreadDoes(String name, int batch) throws Exception {
        Backend cpu = CpuBackendProvider.get();
        int batches = batch == 1 ? 320 : 32;
        int n = batches * batch;
        float[] images = images(n, 5);
        try (Sequential model = model(name, cpu, 3)) {
            model.eval();
            float[][] single = new float[batches][];
            for (int b = 0; b < batches; b++) {
                single[b] = logits(model, cpu, images, b * batch, batch);
            }
            long liveBefore = cpu.memory().liveBytes();
            float[][] multi = new float[batches][];
            List<Callable<Void>> jobs = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                final int first = t;
                jobs.add(() -> {
                    for (int b = first; b < batches; b += THREADS) {
                        multi[b] = logits(model, cpu, images, b * batch, batch);
                    }
                    return null;
                });
            }
            runAll(jobs);
            for (int b = 0; b < batches; b++) {
                assertArrayEquals(single[b], multi[b], name + " batch " + b + " of " + batch + " images");
            }
            assertEquals(liveBefore, cpu.memory().liveBytes(), "no native memory left behind by the threads");
        }
    }

    @Test
    void twoModelsTrainedOnTwoThreadsEqualTheirSequentialRuns() throws Exception {
        Backend cpu = CpuBackendProvider.get();
        BiFunction<String, Long, float[]> train = (name, seed) -> trainAndFlatten(name, cpu, seed);
        float[] cnnAlone = train.apply("cnn", 21L);
        float[] bnAlone = train.apply("bn-cnn", 22L);
        float[] cnnAgain = train.apply("cnn", 23L);
        float[][] both = new float[3][];
        runAll(List.of(
                () -> {
                    both[0] = train.apply("cnn", 21L);
                    return null;
                },
                () -> {
                    both[1] = train.apply("bn-cnn", 22L);
                    return null;
                },
                () -> {
                    both[2] = train.apply("cnn", 23L);
                    return null;
                }));
        assertArrayEquals(cnnAlone, both[0], "cnn trained beside two other trainings: bit for bit as alone");
        assertArrayEquals(bnAlone, both[1], "bn-cnn trained beside two other trainings: bit for bit as alone");
        assertArrayEquals(cnnAgain, both[2], "the second cnn: bit for bit as alone");
    }

    /** 12 Adam steps of batch 32 on seeded random images and labels; every parameter afterwards, concatenated. */
    private static float[] trainAndFlatten(String name, Backend cpu, long seed) {
        Rng rng = new Rng(seed);
        try (Sequential model = model(name, cpu, seed);
                Adam opt = new Adam(model.parameters(), Adam.Config.lr(0.01f))) {
            for (int step = 0; step < 12; step++) {
                float[] x = new float[32 * 784];
                int[] y = new int[32];
                for (int i = 0; i < x.length; i++) {
                    x[i] = rng.nextFloat();
                }
                for (int i = 0; i < y.length; i++) {
                    y[i] = rng.nextInt(10);
                }
                try (Scope s = Scope.open()) {
                    TrainSteps.crossEntropy(model, opt, Tensor.of(cpu, x, 32, 1, 28, 28), Tensor.ofInts(cpu, y, 32));
                }
            }
            float[] all = FlatParameters.values(model.parameters());
            assertTrue(all.length > 0);
            return all;
        }
    }

    private static void runAll(List<Callable<Void>> jobs) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(jobs.size() >= THREADS ? THREADS : jobs.size());
        try {
            List<Future<Void>> done = pool.invokeAll(jobs);
            for (Future<Void> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
