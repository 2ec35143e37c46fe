package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Dropout;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.LayerException;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Layers as a model uses them: dropout's scaling and seeding, a CNN's layers composing in a {@code Sequential}
 * (parameter and buffer names, no new native allocations per training step, evaluation mode deterministic), a wrong
 * input named with its layer, and parameter counts and summaries as Keras gives them. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface LayersConformance extends SuiteHelpers {
    @Test
    default void dropoutScalesKeptValuesAndIsIdentityInEval() {
        Tensor x = Tensor.full(suiteBackend(), 2f, 100, 100);
        float[] y = Functional.dropout(x, 0.25f, true, new Rng(9)).toFloatArray();
        int zeros = 0;
        for (float v : y) {
            if (v == 0f) {
                zeros++;
            } else {
                assertEquals(2f / 0.75f, v, 1e-6);
            }
        }
        assertEquals(0.25, zeros / 10000.0, 0.02);
        assertArrayEquals(y, Functional.dropout(x, 0.25f, true, new Rng(9)).toFloatArray(), "seeded");
        assertTrue(Functional.dropout(x, 0.25f, false, new Rng(9)) == x);
        Tensor in = rand(-1, 1, 3, 4);
        gradCheck("dropout", a -> Functional.dropout(a[0], 0.5f, true, new Rng(4)), in);
    }

    @Test
    default void dropoutKeepsExactlyTheElementsWhoseDrawIsBelowKeep() {
        Tensor x = rand(-1, 1, 7, 13);
        float[] xs = x.toFloatArray();
        for (float p : new float[] {0.1f, 0.3f, 0.999f}) {
            float[] y = Functional.dropout(x, p, true, new Rng(5)).toFloatArray();
            Rng draws = new Rng(5);
            float keep = 1f - p;
            for (int i = 0; i < xs.length; i++) {
                float want = draws.nextFloat() < keep ? xs[i] * (1f / keep) : 0f;
                assertEquals(want, y[i], 1e-6f * Math.abs(want), "dropout p=" + p + " at " + i);
            }
        }
    }

    @Test
    default void denseOverLeadingAxesMatchesTheReferenceAndItsGradient() {
        try (Dense d = new Dense(suiteBackend(), 5, 3, true, Init.PYTORCH, new Rng(3))) {
            float[] w = d.weight().toFloatArray();
            float[] bias = d.bias().toFloatArray();
            for (int[] shape : new int[][] {{2, 3, 5}, {3, 1, 2, 5}, {4, 7, 5}}) {
                Tensor x = rand(-1, 1, shape);
                float[] xs = x.toFloatArray();
                float[] y = d.forward(x).toFloatArray();
                int rows = xs.length / 5;
                assertEquals(rows * 3, y.length, "Dense output size for " + Shape.of(shape));
                for (int r = 0; r < rows; r++) {
                    for (int o = 0; o < 3; o++) {
                        double acc = bias[o];
                        for (int i = 0; i < 5; i++) {
                            acc += xs[r * 5 + i] * w[o * 5 + i];
                        }
                        assertEquals(acc, y[r * 3 + o], 1e-5, "Dense " + Shape.of(shape) + " row " + r);
                    }
                }
            }
            Tensor x = rand(-1, 1, 4, 7, 5);
            Tensor g = rand(-1, 1, 4, 7, 3);
            d.forward(x).mul(g).sum().backward();
            float[] xs = x.toFloatArray();
            float[] gs = g.toFloatArray();
            float[] dw = d.weight().grad().toFloatArray();
            float[] db = d.bias().grad().toFloatArray();
            for (int o = 0; o < 3; o++) {
                double bsum = 0;
                for (int r = 0; r < 28; r++) {
                    bsum += gs[r * 3 + o];
                }
                assertEquals(bsum, db[o], 1e-4, "Dense bias gradient " + o);
                for (int i = 0; i < 5; i++) {
                    double acc = 0;
                    for (int r = 0; r < 28; r++) {
                        acc += gs[r * 3 + o] * xs[r * 5 + i];
                    }
                    assertEquals(acc, dw[o * 5 + i], 1e-4, "Dense weight gradient [" + o + ", " + i + "]");
                }
            }
            gradCheck("Dense over [2, 3, 5]", a -> d.forward(a[0]), rand(-1, 1, 2, 3, 5));
            gradCheck("Dense over a transposed [3, 2, 5]", a -> d.forward(a[0].transpose(0, 1)), rand(-1, 1, 2, 3, 5));
        }
    }

    @Test
    default void cnnLayersComposeAndSwitchModes() {
        Sequential model = new Sequential(
                new Conv2d(suiteBackend(), Conv2d.Config.of(1, 4, 3).withPadding(1), new Rng(1)),
                new ReLU(),
                new BatchNorm2d(suiteBackend(), BatchNorm.Config.of(4)),
                new MaxPool2d(2),
                new Flatten(),
                new Dropout(0.5f, new Rng(2)),
                new Dense(suiteBackend(), 4 * 3 * 3, 5, true, Init.PYTORCH, new Rng(3)));
        Tensor x = rand(0, 1, 2, 1, 7, 7);
        assertEquals(Shape.of(2, 5), model.outputShape(x.shape()));
        Tensor y = model.forward(x);
        assertEquals(Shape.of(2, 5), y.shape());
        y.sum().backward();
        for (var e : model.namedParameters().entrySet()) {
            assertNotNull(e.getValue().grad(), e.getKey() + " has a gradient");
        }
        assertEquals(
                List.of("0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"),
                List.copyOf(model.namedParameters().keySet()));
        assertEquals(
                List.of("2.running_mean", "2.running_var", "2.num_batches_tracked"),
                List.copyOf(model.namedBuffers().keySet()));
        // a training step of a CNN in steady state allocates no native memory either
        Adam opt = new Adam(model.parameters(), Adam.Config.lr(0.01f));
        Tensor labels = Tensor.ofInts(suiteBackend(), new int[] {1, 3}, 2);
        long allocs = 0;
        for (int step = 0; step < 6; step++) {
            try (Scope s = Scope.open()) {
                opt.zeroGrad();
                model.forward(x).crossEntropy(labels).backward();
                opt.step();
            }
            if (step == 2) {
                allocs = suiteBackend().memory().allocations();
            }
        }
        assertEquals(allocs, suiteBackend().memory().allocations(), "native allocations of a CNN step after warm-up");
        opt.close();
        model.eval();
        float[] a = model.forward(x).toFloatArray();
        float[] b = model.forward(x).toFloatArray();
        assertArrayEquals(a, b, "eval mode is deterministic (no dropout, running statistics)");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> model.forward(rand(0, 1, 2, 3, 7, 7)));
        assertTrue(e.getMessage().contains("layer 0") && e.getMessage().contains("[2, 3, 7, 7]"), e.getMessage());
        model.close();
    }

    @Test
    default void summaryCountsParametersLikeKeras() {
        Sequential keras = new Sequential(
                new Dense(suiteBackend(), 784, 20, true, Init.GLOROT, suiteRng()),
                new ReLU(),
                new Dense(suiteBackend(), 20, 10, true, Init.GLOROT, suiteRng()));
        assertEquals(SummaryCounts.KERAS_784_20_10, keras.parameterCount());
        String table = keras.summary(Shape.of(1, 784));
        assertTrue(
                table.contains("0 Dense(784 -> 20)")
                        && table.contains("[1, 20]")
                        && table.contains("15,700")
                        && table.contains("Total params: 15,910")
                        && table.contains("Non-trainable params: 0"),
                table);
        Sequential deeper = new Sequential(
                new Dense(suiteBackend(), 784, 50, true, Init.GLOROT, suiteRng()),
                new ReLU(),
                new Dense(suiteBackend(), 50, 50, true, Init.GLOROT, suiteRng()),
                new ReLU(),
                new Dense(suiteBackend(), 50, 10, true, Init.GLOROT, suiteRng()));
        assertEquals(SummaryCounts.KERAS_784_50_50_10, deeper.parameterCount());
        Sequential flux = new Sequential(
                new Dense(suiteBackend(), 784, 48, true, Init.GLOROT, suiteRng()),
                new ReLU(),
                new Dense(suiteBackend(), 48, 10, true, Init.GLOROT, suiteRng()));
        assertEquals(SummaryCounts.FLUX_784_48_10, flux.parameterCount());
        Sequential bn = new Sequential(
                new Dense(suiteBackend(), 4, 3, true, Init.GLOROT, suiteRng()),
                new BatchNorm(suiteBackend(), BatchNorm.Config.of(3)));
        String t2 = bn.summary(Shape.of(2, 4));
        assertTrue(
                t2.contains("Total params: 27")
                        && t2.contains("Trainable params: 21")
                        && t2.contains("Non-trainable params: 6"),
                t2);
        keras.close();
        deeper.close();
        flux.close();
        bn.close();
    }

    @Test
    default void denseRejectsWrongInputWidth() {
        Sequential model =
                new Sequential(new Dense(suiteBackend(), 784, 48, true, Init.PYTORCH, new Rng(1)), new ReLU());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> model.forward(rand(0, 1, 2, 785)));
        assertTrue(
                e.getMessage().contains("layer 0")
                        && e.getMessage().contains("784")
                        && e.getMessage().contains("[2, 785]"),
                e.getMessage());
        model.close();
        // a CNN built for 28x28 images, fed 32x32: the Dense layer after Flatten names what it expected
        Sequential cnn = new Sequential(
                new Conv2d(suiteBackend(), Conv2d.Config.of(1, 4, 3).withPadding(1), new Rng(2)),
                new MaxPool2d(2),
                new Flatten(),
                new Dense(suiteBackend(), 4 * 14 * 14, 10, true, Init.PYTORCH, new Rng(3)));
        IllegalArgumentException e2 =
                assertThrows(IllegalArgumentException.class, () -> cnn.forward(rand(0, 1, 2, 1, 32, 32)));
        assertEquals(
                "layer 3 Dense(784 -> 10): expected input [..., 784], got [2, 1024] (the"
                        + " model's input was [2, 1, 32, 32])",
                e2.getMessage());
        assertEquals(3, ((LayerException) e2).layer());
        // nested: the inner Sequential names its layer, the outer one keeps that message
        Sequential outer = new Sequential(new ReLU(), cnn);
        LayerException e3 = assertThrows(LayerException.class, () -> outer.forward(rand(0, 1, 2, 1, 32, 32)));
        assertEquals(3, e3.layer());
        assertTrue(e3.getMessage().startsWith("layer 3 Dense(784 -> 10)"), e3.getMessage());
        cnn.close();
    }
}
