package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.io.Checkpoint;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.optim.LRScheduler;
import dev.gradus.optim.OneCycleLR;
import dev.gradus.optim.Optimizer;
import dev.gradus.optim.ReduceLROnPlateau;
import dev.gradus.optim.SGD;
import dev.gradus.optim.StepLR;
import dev.gradus.spi.Backend;
import java.nio.file.Path;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping, saving a checkpoint and resuming in new objects gives the losses of a run that never stopped. */
class CheckpointTest {
    @TempDir
    Path dir;

    private static final int STEPS = 24;

    private static Sequential model(long seed) {
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(seed);
        return new Sequential(
                new Dense(cpu, 6, 16, true, Init.PYTORCH, rng),
                new BatchNorm1d(cpu, BatchNorm.Config.of(16)),
                new ReLU(),
                new Dense(cpu, 16, 3, true, Init.PYTORCH, rng));
    }

    /** Step {@code i}'s loss on a fixed synthetic batch of that step. */
    private static float step(Sequential m, Optimizer opt, LRScheduler s, int i) {
        Rng rng = new Rng(1000 + i);
        float[] x = new float[32 * 6];
        int[] y = new int[32];
        for (int k = 0; k < 32; k++) {
            y[k] = rng.nextInt(3);
            for (int j = 0; j < 6; j++) {
                x[k * 6 + j] = (float) rng.nextGaussian() + (j == y[k] ? 2f : 0f);
            }
        }
        try (Scope sc = Scope.open()) {
            opt.zeroGrad();
            Backend cpu = CpuBackendProvider.get();
            Tensor loss = m.forward(Tensor.of(cpu, x, 32, 6)).crossEntropy(Tensor.ofInts(cpu, y, 32));
            loss.backward();
            opt.step();
            if (s instanceof ReduceLROnPlateau p) {
                p.step(loss.item());
            } else if (s != null) {
                s.step();
            }
            return loss.item();
        }
    }

    private void resumeMatches(
            Function<Sequential, Optimizer> makeOpt, BiFunction<Optimizer, Integer, LRScheduler> makeSchedule)
            throws Exception {
        float[] straight = new float[STEPS];
        try (Sequential m = model(1);
                Optimizer opt = makeOpt.apply(m)) {
            LRScheduler s = makeSchedule.apply(opt, STEPS);
            for (int i = 0; i < STEPS; i++) {
                straight[i] = step(m, opt, s, i);
            }
        }
        float[] resumed = new float[STEPS];
        Path ckpt = dir.resolve("ckpt.safetensors");
        try (Sequential m = model(1);
                Optimizer opt = makeOpt.apply(m)) {
            LRScheduler s = makeSchedule.apply(opt, STEPS);
            for (int i = 0; i < STEPS / 2; i++) {
                resumed[i] = step(m, opt, s, i);
            }
            Checkpoint.save(ckpt, m, opt, s);
        }
        // new objects, other initial weights: everything comes from the file
        try (Sequential m = model(99);
                Optimizer opt = makeOpt.apply(m)) {
            LRScheduler s = makeSchedule.apply(opt, STEPS);
            Checkpoint.load(ckpt, m, opt, s);
            for (int i = STEPS / 2; i < STEPS; i++) {
                resumed[i] = step(m, opt, s, i);
            }
        }
        assertArrayEquals(straight, resumed, "resumed losses, bit for bit");
    }

    @Test
    void adamWithOneCycleResumesBitForBit() throws Exception {
        resumeMatches(m -> new Adam(m.parameters(), Adam.Config.lr(0.01f)), (o, n) -> new OneCycleLR(o, 0.02f, n));
    }

    @Test
    void sgdWithMomentumAndStepLrResumesBitForBit() throws Exception {
        resumeMatches(
                m -> new SGD(m.parameters(), SGD.Config.lr(0.05f).withMomentum(0.9f, true)),
                (o, n) -> new StepLR(o, 5, 0.5f));
    }

    @Test
    void plateauStateAndNoScheduleResumeBitForBit() throws Exception {
        resumeMatches(
                m -> new SGD(m.parameters(), SGD.Config.lr(0.05f)),
                (o, n) -> new ReduceLROnPlateau(o, 0.5f, 1, 1e-4f, 1, 0f));
        resumeMatches(m -> new Adam(m.parameters(), Adam.Config.lr(0.01f)), (o, n) -> null);
    }

    @Test
    void aCheckpointForOtherClassesOrAModelFileIsRefused() throws Exception {
        Path ckpt = dir.resolve("c.safetensors");
        Path plain = dir.resolve("m.safetensors");
        try (Sequential m = model(1);
                Adam adam = new Adam(m.parameters(), Adam.Config.lr(0.01f));
                SGD sgd = new SGD(m.parameters(), SGD.Config.lr(0.1f))) {
            step(m, adam, null, 0);
            Checkpoint.save(ckpt, m, adam, null);
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(ckpt, m, sgd, null));
            assertTrue(e.getMessage().contains("optimizer Adam and scheduler none, not SGD and none"), e.getMessage());
            Safetensors.save(m, plain);
            Exception e2 = assertThrows(Exception.class, () -> Checkpoint.load(plain, m, adam, null));
            assertTrue(e2.getMessage().contains("not a Gradus checkpoint"), e2.getMessage());
            assertEquals(1, adam.steps());
        }
    }
}
