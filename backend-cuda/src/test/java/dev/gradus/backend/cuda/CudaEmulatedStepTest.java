package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.optim.Optimizer;
import dev.gradus.optim.SGD;
import java.util.Arrays;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A training step on the CUDA backend queues its work on the stream and never waits for the device; only reading a
 * value back (the loss) does. Runs on the {@link CudaEmulator}, whose stream runs behind the host as a GPU's does.
 */
class CudaEmulatedStepTest {
    private static CudaBackend cuda;

    @BeforeAll
    static void emulator() {
        cuda = CudaEmulator.backend();
    }

    private static void stepsDoNotWait(Sequential model, Function<Sequential, Optimizer> optimizer, int[] xShape) {
        Rng rng = new Rng(3);
        int n = xShape[0];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 5;
        }
        float[] data = new float[n * xShape[1] * xShape[2] * xShape[3]];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rng.nextGaussian();
        }
        try (model;
                Optimizer opt = optimizer.apply(model);
                Scope s = Scope.open()) {
            float first = Float.NaN;
            for (int step = 0; step < 3; step++) {
                long before = cuda.hostWaits();
                // The batch's upload is part of the step: it is queued, not waited for.
                Tensor x = Tensor.of(cuda, data, xShape);
                Tensor labels = Tensor.ofInts(cuda, y, n);
                opt.zeroGrad();
                Tensor loss = model.forward(x).crossEntropy(labels);
                loss.backward();
                opt.step();
                assertEquals(before, cuda.hostWaits(), "host waits for the device during training step " + step);
                float l = loss.item();
                assertEquals(before + 1, cuda.hostWaits(), "reading the loss waits once");
                assertTrue(Float.isFinite(l), "loss " + l);
                first = step == 0 ? l : first;
                if (step == 2) {
                    assertTrue(l < first, "the loss goes down: " + first + " -> " + l);
                }
            }
        }
    }

    @Test
    void anMlpStepWithAdamDoesNotWait() {
        Rng rng = new Rng(1);
        stepsDoNotWait(
                new Sequential(
                        new Flatten(),
                        new Dense(cuda, 36, 16, true, Init.GLOROT, rng),
                        new ReLU(),
                        new Dense(cuda, 16, 5, true, Init.GLOROT, rng)),
                m -> new Adam(m.parameters(), Adam.Config.lr(0.01f)),
                new int[] {8, 1, 6, 6});
    }

    @Test
    void aConvBatchNormPoolStepWithSgdDoesNotWait() {
        Rng rng = new Rng(2);
        stepsDoNotWait(
                new Sequential(
                        new Conv2d(cuda, Conv2d.Config.of(1, 4, 3).withPadding(1), rng),
                        new ReLU(),
                        new BatchNorm2d(cuda, BatchNorm2d.Config.of(4)),
                        new MaxPool2d(2),
                        new Flatten(),
                        new Dense(cuda, 36, 5, true, Init.GLOROT, rng)),
                m -> new SGD(m.parameters(), SGD.Config.lr(0.05f).withMomentum(0.9f, false)),
                new int[] {8, 1, 6, 6});
    }

    @Test
    void writesQueuedBackToBackLandIntact() {
        // More writes than upload buffers, with nothing read in between: each buffer must be reused only after the
        // device has copied it (the emulator's stream lags the host, so reusing one early would show).
        try (Scope s = Scope.open()) {
            Tensor[] t = new Tensor[11];
            long before = cuda.hostWaits();
            for (int i = 0; i < t.length; i++) {
                float[] v = new float[300 + i];
                Arrays.fill(v, i + 0.5f);
                t[i] = Tensor.of(cuda, v, v.length);
            }
            long waits = cuda.hostWaits() - before;
            // The emulated device starts only when the host waits, so the fifth write must; once it has, the device
            // may have caught up with the rest.
            assertTrue(
                    waits >= 1 && waits <= t.length - 4,
                    "the ring of 4 buffers made the host wait " + waits + " times for " + t.length + " writes");
            for (int i = 0; i < t.length; i++) {
                float[] back = t[i].toFloatArray();
                assertEquals(300 + i, back.length);
                for (float f : back) {
                    assertEquals(i + 0.5f, f, "write " + i);
                }
            }
        }
    }

    @Test
    void badLabelsFromTheHostAreNamedWithoutWaiting() {
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.randn(new Rng(4), 3, 5).to(cuda);
            Tensor labels = Tensor.ofInts(cuda, new int[] {1, 7, 2}, 3);
            long before = cuda.hostWaits();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> logits.crossEntropy(labels));
            assertTrue(e.getMessage().contains("label 7 at index 1"), e.getMessage());
            assertEquals(before, cuda.hostWaits(), "checking host-written labels waits for nothing");
        }
    }

    @Test
    void labelsAKernelWroteAreReadBackBeforeTheyAreTrusted() {
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.randn(new Rng(5), 4, 6).to(cuda);
            Tensor predicted = Tensor.of(cuda, new float[] {0, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9}, 4, 3)
                    .argmax(1);
            float viaArgmax = logits.crossEntropy(predicted).item();
            // argmax rows: 1, 0 (first of ties), 0, 2
            float viaHost = logits.crossEntropy(Tensor.ofInts(cuda, new int[] {1, 0, 0, 2}, 4))
                    .item();
            assertEquals(viaHost, viaArgmax, 1e-6f);
        }
    }
}
