package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Dropout;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.testing.TrainSteps;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Native memory: a scope releases intermediates and use after release fails, closing twice is named, backward
 * releases each gradient once used, {@code trim()} gives cached memory back and keeps live tensors, steady-state
 * training makes no new allocations, and the same seed trains to the same weights bit for bit. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface MemoryConformance extends SuiteHelpers {
    @Test
    default void scopeReleasesIntermediatesAndUseAfterReleaseFails() {
        long before = suiteBackend().memory().liveBytes();
        Tensor escaped;
        Tensor kept;
        try (Scope s = Scope.open()) {
            Tensor a = rand(0, 1, 100, 10);
            escaped = a.mul(2f).relu();
            kept = s.keep(a.sum());
        }
        assertTrue(escaped.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, escaped::toFloatArray);
        assertTrue(e.getMessage().contains("released"), e.getMessage());
        assertTrue(kept.item() > 0);
        kept.close();
        kept.close(); // idempotent
        assertEquals(before, suiteBackend().memory().liveBytes(), "live bytes after the scope closed");
        Scope s = Scope.open();
        s.close();
        assertThrows(IllegalStateException.class, s::close);
        Sequential m = new Sequential(new Dense(suiteBackend(), 3, 2, true, Init.PYTORCH, new Rng(1)));
        m.close();
        var twice = assertThrows(IllegalStateException.class, m::close);
        assertTrue(twice.getMessage().contains("already closed"), twice.getMessage());
        var used = assertThrows(IllegalStateException.class, () -> m.forward(t(new float[3], 1, 3)));
        assertTrue(used.getMessage().contains("released"), used.getMessage());
        Sequential m2 = new Sequential(new Dense(suiteBackend(), 3, 2, true, Init.PYTORCH, new Rng(1)));
        Adam opt = new Adam(m2.parameters(), Adam.Config.lr(0.1f));
        opt.close();
        var optTwice = assertThrows(IllegalStateException.class, opt::close);
        assertTrue(optTwice.getMessage().contains("Adam: optimizer already closed"), optTwice.getMessage());
        var stepAfter = assertThrows(IllegalStateException.class, opt::step);
        assertTrue(stepAfter.getMessage().contains("the optimizer was closed"), stepAfter.getMessage());
        m2.close();
    }

    @Test
    default void steadyStateTrainingMakesNoNewAllocations() {
        Sequential model = new Sequential(
                new Dense(suiteBackend(), 20, 16, true, Init.PYTORCH, new Rng(1)),
                new ReLU(),
                new Dense(suiteBackend(), 16, 4, true, Init.PYTORCH, new Rng(2)));
        Adam opt = new Adam(model.parameters(), Adam.Config.lr(0.01f));
        Tensor x = rand(-1, 1, 8, 20);
        Tensor y = Tensor.ofInts(suiteBackend(), new int[] {0, 1, 2, 3, 0, 1, 2, 3}, 8);
        long allocsAfterWarmup = 0;
        long liveAfterWarmup = 0;
        float first = 0;
        float last = 0;
        for (int step = 0; step < 60; step++) {
            try (Scope s = Scope.open()) {
                last = TrainSteps.crossEntropy(model, opt, x, y);
                if (step == 0) {
                    first = last;
                }
            }
            if (step == 2) {
                allocsAfterWarmup = suiteBackend().memory().allocations();
                liveAfterWarmup = suiteBackend().memory().liveBytes();
            }
        }
        assertEquals(allocsAfterWarmup, suiteBackend().memory().allocations(), "native allocations after warm-up");
        assertEquals(liveAfterWarmup, suiteBackend().memory().liveBytes(), "live bytes after warm-up");
        assertTrue(last < first * 0.5f, "loss fell from " + first + " to " + last);
        opt.close();
        model.close();
        assertThrows(IllegalStateException.class, model::close);
    }

    private float[] trainTwoLayerNet(long seed) {
        Rng r = new Rng(seed);
        Sequential m = new Sequential(
                new Dense(suiteBackend(), 30, 64, true, Init.PYTORCH, r),
                new ReLU(),
                new Dropout(0.1f, r.split()),
                new Dense(suiteBackend(), 64, 5, true, Init.PYTORCH, r));
        Adam opt = new Adam(m.parameters(), Adam.Config.lr(0.01f));
        float[] xs = new float[200 * 30];
        int[] ys = new int[200];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < ys.length; i++) {
            ys[i] = r.nextInt(5);
        }
        for (int step = 0; step < 20; step++) {
            try (Scope s = Scope.open()) {
                opt.zeroGrad();
                m.forward(t(xs, 200, 30))
                        .crossEntropy(Tensor.ofInts(suiteBackend(), ys, 200))
                        .backward();
                opt.step();
            }
        }
        float[] w = m.parameters().get(0).toFloatArray();
        opt.close();
        m.close();
        return w;
    }

    @Test
    default void sameSeedSameWeightsBitForBit() {
        float[] a = trainTwoLayerNet(11);
        float[] b = trainTwoLayerNet(11);
        assertArrayEquals(a, b, "two runs with the same seed");
        assertTrue(!Arrays.equals(a, trainTwoLayerNet(12)), "another seed differs");
    }

    @Test
    default void backwardReleasesEachGradientOnceUsed() {
        int n = 64 * 1024;
        try (Scope s = Scope.open()) {
            Tensor x = rand(-1, 1, n).requiresGrad(true);
            Tensor h = x;
            for (int i = 0; i < 16; i++) {
                h = h.mul(1.01f); // each backward step makes one gradient of n floats
            }
            Tensor loss = h.sum();
            long before = suiteBackend().memory().liveBytes();
            loss.backward();
            long grown = suiteBackend().memory().liveBytes() - before;
            // x's gradient and the last one handed over; all 16 would be 16 * n floats
            assertTrue(grown <= 3L * n * Float.BYTES, "bytes still live after backward: " + grown);
            assertClose(
                    Tensor.full(suiteBackend(), (float) Math.pow(1.01, 16), n).toFloatArray(),
                    x.grad().toFloatArray(),
                    1e-5,
                    "gradient through 16 scalings");
        }
    }

    @Test
    default void trimGivesCachedMemoryBackAndKeepsLiveTensors() {
        Tensor kept = rand(-1, 1, 17, 3);
        float[] values = kept.toFloatArray();
        try (Scope s = Scope.open()) {
            rand(-1, 1, 129, 7).mul(2f).sum().item();
        }
        assertTrue(suiteBackend().memory().reservedBytes() >= 129 * 7 * 4, "freed storages are cached");
        long live = suiteBackend().memory().liveBytes();
        suiteBackend().trim();
        assertEquals(0, suiteBackend().memory().reservedBytes(), "reserved after trim");
        assertEquals(live, suiteBackend().memory().liveBytes(), "live after trim");
        assertArrayEquals(values, kept.toFloatArray(), "a live tensor survives trim");
    }
}
