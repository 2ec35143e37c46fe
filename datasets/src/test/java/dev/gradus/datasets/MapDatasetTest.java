package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.DType;
import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.optim.SGD;
import dev.gradus.spi.Backend;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Lazy (map-style) data sets and float targets, through the public API as a user would write them. */
class MapDatasetTest {
    private static final Backend CPU = CpuBackendProvider.get();

    /** y = 2 a - 3 b + 1, computed when asked for, counting the calls. */
    private static MapDataset linear(int n, AtomicInteger calls) {
        return MapDataset.of(n, new int[] {2}, new int[] {1}, i -> {
            calls.incrementAndGet();
            Rng r = new Rng(1000 + i); // each example is a function of its index, as data read from disk would be
            float a = r.nextFloat() * 2 - 1;
            float b = r.nextFloat() * 2 - 1;
            return MapDataset.Example.of(new float[] {a, b}, 2 * a - 3 * b + 1);
        });
    }

    @Test
    void aRegressionModelTrainsOnALazyDataSetWithFloatTargets() {
        AtomicInteger calls = new AtomicInteger();
        MapDataset data = linear(1000, calls);
        DataLoader loader = new DataLoader(data, 32).shuffle(7).prefetch(2);
        Dense model = new Dense(CPU, 2, 1, true, Init.PYTORCH, new Rng(3));
        SGD opt = new SGD(model.parameters(), SGD.Config.lr(0.1f));
        double last = Double.NaN;
        int epochs = 30;
        for (int epoch = 0; epoch < epochs; epoch++) {
            double sum = 0;
            int n = 0;
            for (DataLoader.Batch b : loader.epoch(CPU)) {
                try (b;
                        Scope s = Scope.open()) {
                    assertEquals(DType.FLOAT32, b.y().dtype());
                    assertArrayEquals(new int[] {b.size(), 1}, b.y().shape().dims());
                    Tensor loss = Functional.mseLoss(model.forward(b.x()), b.y());
                    opt.zeroGrad();
                    loss.backward();
                    opt.step();
                    sum += loss.item() * b.size();
                    n += b.size();
                }
            }
            last = sum / n;
        }
        assertTrue(last < 1e-4, "mean squared error after " + epochs + " epochs: " + last);
        float[] w = model.weight().toFloatArray();
        assertEquals(2f, w[0], 1e-2f);
        assertEquals(-3f, w[1], 1e-2f);
        assertEquals(1f, model.bias().toFloatArray()[0], 1e-2f);
        assertEquals(epochs * 1000, calls.get(), "every example is read once per epoch, on demand");
        model.close();
    }

    @Test
    void shuffledLazyBatchesHoldEachExampleOnceWithItsTarget() {
        AtomicInteger calls = new AtomicInteger();
        MapDataset data = linear(101, calls);
        Set<Float> seen = new HashSet<>();
        try (Scope s = Scope.open()) {
            for (DataLoader.Batch b : new DataLoader(data, 16).shuffle(1).epoch(CPU)) {
                float[] x = b.x().toFloatArray();
                float[] y = b.y().toFloatArray();
                for (int i = 0; i < b.size(); i++) {
                    assertEquals(2 * x[2 * i] - 3 * x[2 * i + 1] + 1, y[i], 1e-6f);
                    seen.add(x[2 * i]);
                }
            }
        }
        assertEquals(101, seen.size());
    }

    @Test
    void softLabelsAndMultiLabelTargetsKeepTheirShape() {
        float[] x = {0, 1, 2, 3, 4, 5};
        float[] soft = {0.7f, 0.2f, 0.1f, 0f, 0f, 1f, 0.5f, 0.5f, 0f};
        TensorDataset d = new TensorDataset("soft", x, new int[] {2}, soft, new int[] {3});
        assertEquals(3, d.size());
        try (Scope s = Scope.open()) {
            DataLoader.Batch b = new DataLoader(d, 2).epoch(CPU).iterator().next();
            assertArrayEquals(new int[] {2, 3}, b.y().shape().dims());
            assertArrayEquals(new float[] {0.7f, 0.2f, 0.1f, 0f, 0f, 1f}, b.y().toFloatArray());
            // soft targets go straight into the cross-entropy
            Tensor loss = Functional.crossEntropy(Tensor.zeros(CPU, 2, 3), b.y());
            assertEquals(Math.log(3), loss.item(), 1e-5);
        }
        // one number per example: y is [B]
        TensorDataset scalar = new TensorDataset("scalar", x, new int[] {2}, new float[] {1, 2, 3}, new int[] {});
        try (Scope s = Scope.open()) {
            DataLoader.Batch b = new DataLoader(scalar, 3).epoch(CPU).iterator().next();
            assertArrayEquals(new int[] {3}, b.y().shape().dims());
        }
    }

    @Test
    void classLabelDataSetsCanBeLazyToo() {
        MapDataset digits = MapDataset.classes(
                10, new int[] {1, 2, 2}, i -> MapDataset.Example.of(new float[] {i, i, i, i}, i % 3));
        try (Scope s = Scope.open()) {
            DataLoader.Batch b = new DataLoader(digits, 4)
                    .flatten(true)
                    .epoch(CPU)
                    .iterator()
                    .next();
            assertEquals(DType.INT32, b.y().dtype());
            assertArrayEquals(new int[] {0, 1, 2, 0}, b.y().toIntArray());
            assertArrayEquals(new int[] {4, 4}, b.x().shape().dims());
        }
    }

    @Test
    void badExamplesAreNamed() {
        MapDataset wrongWidth = MapDataset.of(
                5, new int[] {2}, new int[] {1}, i -> MapDataset.Example.of(new float[i == 3 ? 3 : 2], 0f));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            for (DataLoader.Batch b : new DataLoader(wrongWidth, 2).epoch(CPU)) {
                b.close();
            }
        });
        assertTrue(e.getMessage().contains("example 3") && e.getMessage().contains("3 feature values"), e.getMessage());
        MapDataset classesGivenFloats =
                MapDataset.classes(2, new int[] {1}, i -> MapDataset.Example.of(new float[] {1}, 0.5f));
        IllegalArgumentException f = assertThrows(
                IllegalArgumentException.class,
                () -> new DataLoader(classesGivenFloats, 2)
                        .epoch(CPU)
                        .iterator()
                        .next());
        assertTrue(f.getMessage().contains("example 0"), f.getMessage());
        IllegalArgumentException g = assertThrows(
                IllegalArgumentException.class,
                () -> new TensorDataset("t", new float[4], new int[] {2}, new float[3], new int[] {1}));
        assertTrue(g.getMessage().contains("3 target values for 2 items"), g.getMessage());
        IllegalArgumentException h = assertThrows(
                IllegalArgumentException.class,
                () -> new TensorDataset("t", new float[2], new int[] {2}, new float[] {Float.NaN}, new int[] {1}));
        assertTrue(h.getMessage().contains("not finite"), h.getMessage());
    }
}
