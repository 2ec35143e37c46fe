package dev.gradus.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** A model in evaluation mode answers from 16 threads at once exactly as from one, and leaks nothing. */
class ConcurrentInferenceTest {
    @Test
    void sixteenThreadsPredictWhatOneThreadPredicts() throws Exception {
        Backend cpu = CpuBackendProvider.get();
        Sequential model = BnCnnCommand.model(cpu, new Rng(1));
        model.eval();
        Rng rng = new Rng(2);
        int n = 2000;
        float[][] images = new float[n][784];
        for (float[] im : images) {
            for (int i = 0; i < im.length; i++) {
                im[i] = rng.nextFloat();
            }
        }
        long liveBefore = cpu.memory().liveBytes();
        int[] single = new int[n];
        for (int i = 0; i < n; i++) {
            single[i] = predict(model, cpu, images[i]);
        }
        int[] multi = new int[n];
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                final int first = t;
                jobs.add(pool.submit(() -> {
                    for (int i = first; i < n; i += 16) {
                        multi[i] = predict(model, cpu, images[i]);
                    }
                }));
            }
            for (Future<?> f : jobs) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        assertArrayEquals(single, multi);
        assertEquals(liveBefore, cpu.memory().liveBytes(), "no native memory left behind by 4,000 predictions");
        model.close();
    }

    private static int predict(Sequential model, Backend cpu, float[] image) {
        try (GradMode ng = GradMode.noGrad();
                Scope s = Scope.open()) {
            return model.forward(Tensor.of(cpu, image, 1, 1, 28, 28)).argmax(1).toIntArray()[0];
        }
    }
}
