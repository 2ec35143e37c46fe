package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Gradus;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Module;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.optim.SGD;
import dev.gradus.testing.TrainSteps;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Models written as users write them, against the public API only: their own modules, loops and mistakes. */
class UserCodeTest {
    /** Two layers of one shape built without an explicit generator differ; a seeded program reproduces. */
    @Test
    void defaultInitialisationDiffersPerLayerAndReproducesWithASeed() {
        CpuBackendProvider.get();
        Rng.manualSeed(7);
        float[][] first = weightsOfTwoLayers();
        assertFalse(Arrays.equals(first[0], first[1]), "two new Dense(32, 32) start different");
        Rng.manualSeed(7);
        float[][] again = weightsOfTwoLayers();
        assertArrayEquals(first[0], again[0], "seeded: bit for bit");
        assertArrayEquals(first[1], again[1], "seeded: bit for bit");
        try (Conv2d a = new Conv2d(Conv2d.Config.of(3, 8, 3));
                Conv2d b = new Conv2d(Conv2d.Config.of(3, 8, 3))) {
            assertFalse(Arrays.equals(a.weight().toFloatArray(), b.weight().toFloatArray()));
        }
    }

    private static float[][] weightsOfTwoLayers() {
        try (Dense a = new Dense(32, 32);
                Dense b = new Dense(32, 32)) {
            return new float[][] {a.weight().toFloatArray(), b.weight().toFloatArray()};
        }
    }

    @Test
    void tiedWeightsAppearOnceAreSteppedOnceAndCloseOnce(@TempDir Path dir) throws Exception {
        CpuBackendProvider.get();
        Module m = new SharedEncoder();
        Map<String, Parameter> named = m.namedParameters();
        assertEquals(List.of("enc.weight", "enc.bias", "head.weight", "head.bias"), List.copyOf(named.keySet()));
        assertEquals(4 * 3 + 3 + 3 * 2 + 2, m.parameterCount());
        Parameter w = named.get("enc.weight");
        float[] before = w.toFloatArray();
        try (SGD opt = new SGD(m.parameters(), SGD.Config.lr(0.5f))) {
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.ones(2, 4);
                m.forward(x).sum().backward();
            }
            float[] g = w.grad().toFloatArray();
            opt.step();
            float[] after = w.toFloatArray();
            for (int i = 0; i < after.length; i++) {
                assertEquals(before[i] - 0.5f * g[i], after[i], 1e-6, "one update of the shared weight, element " + i);
            }
        }
        Path file = dir.resolve("tied.safetensors");
        Safetensors.save(m, file);
        assertEquals(4, Safetensors.read(file).tensors().size(), "one entry per parameter in the file");
        m.close(); // does not throw "module already closed" for the second name
    }

    /** A model that registers one encoder under two names, and holds its head only in a field. */
    static final class SharedEncoder extends Module {
        private final Dense enc = new Dense(4, 3);
        private final Dense head = new Dense(3, 2);

        SharedEncoder() {
            registerModule("enc", enc);
            registerModule("again", enc);
        }

        @Override
        public Tensor forward(Tensor x) {
            return head.forward(enc.forward(x).relu());
        }
    }

    /** A user model that holds its layers in fields and never calls registerModule. */
    static final class FieldsOnly extends Module {
        private final Dense hidden = new Dense(5, 4);
        private final ReLU act = new ReLU();
        private final Dense out = new Dense(4, 2);
        private final Parameter scale = new Parameter(Tensor.ones(2));

        @Override
        public Tensor forward(Tensor x) {
            return out.forward(act.forward(hidden.forward(x))).mul(scale);
        }
    }

    @Test
    void modulesAndParametersInFieldsAreFoundWithoutRegistering() {
        CpuBackendProvider.get();
        try (FieldsOnly m = new FieldsOnly()) {
            // PyTorch's order: a module's own parameters, then its children's.
            assertEquals(
                    List.of("scale", "hidden.weight", "hidden.bias", "out.weight", "out.bias"),
                    List.copyOf(m.namedParameters().keySet()));
            assertEquals(5 * 4 + 4 + 4 * 2 + 2 + 2, m.parameterCount());
            m.eval();
            assertFalse(m.children().get("hidden").isTraining(), "eval() reaches field-held children");
            m.train();
            float first;
            float last = 0;
            try (Adam opt = new Adam(m.parameters(), Adam.Config.lr(0.05f))) {
                Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, -1, 0, 1, 0, -1}, 2, 5);
                Tensor y = Tensor.ofInts(new int[] {0, 1}, 2);
                try (Scope s = Scope.open()) {
                    first = m.forward(x).crossEntropy(y).item();
                }
                for (int i = 0; i < 50; i++) {
                    try (Scope s = Scope.open()) {
                        last = TrainSteps.crossEntropy(m, opt, x, y);
                    }
                }
                x.close();
                y.close();
            }
            assertTrue(last < first / 2, "the field-held layers trained: " + first + " -> " + last);
        }
        // new Parameter(Tensor.ones(2)) leaves the ones tensor's own handle unclosed, as user code does: the safety
        // net releases it once it is unreachable.
        Gradus.freeUnreachable();
    }

    /** PyTorch's gradient for soft targets whose rows do not sum to 1: softmax * rowsum(t) - t, over N. */
    @Test
    void crossEntropyWithUnnormalisedSoftTargetsHasTheTrueGradient() {
        CpuBackendProvider.get();
        try (Scope s = Scope.open()) {
            float[] z = {0.3f, -1.2f, 2.0f, 0.5f, 0.1f, -0.4f};
            float[] t = {0.2f, 0.1f, 0.2f, 1.0f, 0.5f, 0.5f}; // rows sum to 0.5 and 2
            Tensor logits = Tensor.of(z, 2, 3).requiresGrad(true);
            Tensor target = Tensor.of(t, 2, 3);
            logits.crossEntropy(target).backward();
            float[] g = logits.grad().toFloatArray();
            for (int r = 0; r < 2; r++) {
                double max = Math.max(z[r * 3], Math.max(z[r * 3 + 1], z[r * 3 + 2]));
                double sum = 0;
                double rowSum = 0;
                for (int c = 0; c < 3; c++) {
                    sum += Math.exp(z[r * 3 + c] - max);
                    rowSum += t[r * 3 + c];
                }
                for (int c = 0; c < 3; c++) {
                    double p = Math.exp(z[r * 3 + c] - max) / sum;
                    assertEquals((p * rowSum - t[r * 3 + c]) / 2, g[r * 3 + c], 1e-6, "row " + r + " column " + c);
                }
            }
        }
    }

    @Test
    void configErrorsNameTheBadValue() {
        IllegalArgumentException adam = assertThrows(
                IllegalArgumentException.class, () -> new Adam.Config(0.001f, 1.5f, 0.999f, 1e-8f, 0f, false));
        assertTrue(adam.getMessage().contains("1.5") && adam.getMessage().contains("betas"), adam.getMessage());
        IllegalArgumentException sgd =
                assertThrows(IllegalArgumentException.class, () -> new SGD.Config(-0.1f, 0f, 0f, 0f, false));
        assertTrue(sgd.getMessage().contains("lr") && sgd.getMessage().contains("-0.1"), sgd.getMessage());
        IllegalArgumentException conv =
                assertThrows(IllegalArgumentException.class, () -> new Conv2d.Config(6, 16, 3, 3, 1, 0, 1, 4, true));
        assertTrue(conv.getMessage().contains("groups 4") && conv.getMessage().contains("6"), conv.getMessage());
        IllegalArgumentException bn =
                assertThrows(IllegalArgumentException.class, () -> new BatchNorm.Config(8, 1e-5f, 1.5f, true));
        assertTrue(bn.getMessage().contains("momentum") && bn.getMessage().contains("1.5"), bn.getMessage());
    }

    /** A parameter made from a view that starts inside its storage: the optimizers update its own elements. */
    @Test
    void optimizersUpdateAParameterMadeFromAnOffsetView() {
        CpuBackendProvider.get();
        for (String which : new String[] {"sgd", "adam"}) {
            Tensor big = Tensor.of(new float[] {10, 11, 12, 13, 14, 15, 16, 17}, 8);
            Tensor view = big.narrow(0, 4, 3); // 14, 15, 16, at offset 4 of big's storage
            Parameter p = new Parameter(view);
            assertArrayEquals(new float[] {14, 15, 16}, p.toFloatArray());
            try (var opt = which.equals("sgd")
                    ? new SGD(List.of(p), SGD.Config.lr(0.5f))
                    : new Adam(List.of(p), Adam.Config.lr(0.5f))) {
                try (Scope s = Scope.open()) {
                    p.mul(Tensor.of(new float[] {1, 2, 3}, 3)).sum().backward(); // grad (1, 2, 3)
                }
                opt.step();
            }
            // SGD: p - 0.5 * g; Adam's first step moves each element by lr against the sign of its gradient.
            float[] want = which.equals("sgd") ? new float[] {13.5f, 14f, 14.5f} : new float[] {13.5f, 14.5f, 15.5f};
            assertArrayEquals(want, p.toFloatArray(), 1e-5f, which);
            assertArrayEquals(
                    new float[] {10, 11, 12, 13, 14, 15, 16, 17},
                    big.toFloatArray(),
                    which + ": the original tensor is left alone");
            p.close();
            view.close();
            big.close();
        }
    }

    /** toString prints the module tree as PyTorch's repr does; it printed only the class name. */
    @Test
    void toStringPrintsTheModuleTree() {
        try (Sequential seq = new Sequential(new Dense(784, 48), new ReLU(), new FieldsOnly())) {
            assertEquals(
                    String.join(
                            "\n",
                            "Sequential(",
                            "  (0): Dense(784 -> 48)",
                            "  (1): ReLU()",
                            "  (2): FieldsOnly(",
                            "    (hidden): Dense(5 -> 4)",
                            "    (act): ReLU()",
                            "    (out): Dense(4 -> 2)",
                            "  )",
                            ")"),
                    seq.toString());
        }
        Gradus.freeUnreachable(); // FieldsOnly's Tensor.ones(2), as above
    }
}
