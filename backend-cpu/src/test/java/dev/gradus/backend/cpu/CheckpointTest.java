package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.io.Checkpoint;
import dev.gradus.io.ModelFormatException;
import dev.gradus.io.Safetensors;
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
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping, saving a checkpoint and resuming in new objects gives the losses of a run that never stopped. */
class CheckpointTest {
    @TempDir
    Path dir;

    private static final int STEPS = 24;

    private static Sequential model(long seed) {
        return CheckpointFixtures.model(6, 16, seed);
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
            Backend cpu = CpuBackendProvider.get();
            return CheckpointFixtures.step(m, opt, s, Tensor.of(cpu, x, 32, 6), Tensor.ofInts(cpu, y, 32));
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

    private Path edited(
            Path ckpt, String name, Consumer<Map<String, Tensor>> tensors, Consumer<Map<String, String>> meta)
            throws Exception {
        return CheckpointFixtures.edited(dir, ckpt, name, tensors, meta);
    }

    /** Saves to {@code ckpt} model(1) after {@code steps} steps of {@code makeOpt}'s optimizer under StepLR(2, 0.5). */
    private static void saveAfter(Path ckpt, int steps, Function<Sequential, Optimizer> makeOpt) throws Exception {
        try (Sequential m = model(1);
                Optimizer opt = makeOpt.apply(m)) {
            StepLR s = new StepLR(opt, 2, 0.5f);
            for (int i = 0; i < steps; i++) {
                step(m, opt, s, i);
            }
            Checkpoint.save(ckpt, m, opt, s);
        }
    }

    /**
     * Every corrupt checkpoint is a one-line ModelFormatException naming the file, thrown before anything is
     * written: the model's weights, the optimizer's steps and state and the schedule are as they were.
     */
    @Test
    void aRefusedCheckpointChangesNothing() throws Exception {
        Path ckpt = dir.resolve("good.safetensors");
        saveAfter(ckpt, 5, m -> new Adam(m.parameters(), Adam.Config.lr(0.01f)));
        List<Path> bad = List.of(
                edited(ckpt, "steps-text", t -> {}, meta -> meta.put("optimizer.steps", "lots")),
                edited(ckpt, "steps-negative", t -> {}, meta -> meta.put("optimizer.steps", "-3")),
                edited(ckpt, "lr-missing", t -> {}, meta -> meta.remove("optimizer.lr")),
                edited(ckpt, "lr-nan", t -> {}, meta -> meta.put("optimizer.lr", "NaN")),
                edited(ckpt, "half-adam", t -> t.remove("optimizer.exp_avg_sq.0"), meta -> {}),
                edited(
                        ckpt,
                        "state-shape",
                        t -> t.put("optimizer.exp_avg.0", Tensor.zeros(CpuBackendProvider.get(), 6, 16)),
                        meta -> {}),
                edited(
                        ckpt,
                        "state-unknown",
                        t -> t.put("optimizer.momentum_buffer.0", Tensor.zeros(CpuBackendProvider.get(), 6, 16)),
                        meta -> {}),
                edited(ckpt, "no-state", t -> t.keySet().removeIf(k -> k.startsWith("optimizer.")), meta -> {}),
                edited(ckpt, "schedule-steps", t -> {}, meta -> meta.put("scheduler.steps", "x")),
                edited(ckpt, "schedule-base", t -> {}, meta -> meta.put("scheduler.base_lr", "-1")),
                edited(
                        ckpt,
                        "stray-tensor",
                        t -> t.put("extra", Tensor.zeros(CpuBackendProvider.get(), 1)),
                        meta -> {}));
        try (Sequential m = model(7);
                Adam adam = new Adam(m.parameters(), Adam.Config.lr(0.01f))) {
            StepLR s = new StepLR(adam, 2, 0.5f);
            step(m, adam, s, 0);
            float[] weights = m.namedParameters().get("0.weight").toFloatArray();
            float[] moment = adam.state().get("exp_avg.0").toFloatArray();
            for (Path p : bad) {
                ModelFormatException e =
                        assertThrows(ModelFormatException.class, () -> Checkpoint.load(p, m, adam, s), p.toString());
                assertTrue(
                        e.getMessage().startsWith(p + ": ") && !e.getMessage().contains("\n"), e.getMessage());
                assertArrayEquals(weights, m.namedParameters().get("0.weight").toFloatArray(), p.toString());
                assertArrayEquals(moment, adam.state().get("exp_avg.0").toFloatArray(), p.toString());
                assertEquals(1, adam.steps(), p.toString());
                assertEquals(1, s.steps(), p.toString());
            }
            // no optimizer state is accepted when asked for: the optimizer starts afresh, as PyTorch's empty state
            Checkpoint.load(bad.get(7), m, adam, s, Checkpoint.Option.FRESH_OPTIMIZER_STATE);
            assertEquals(0, adam.steps());
            assertEquals(5, s.steps());
            assertTrue(adam.state().isEmpty());
        }
    }

    /**
     * The schedule's base rate comes from the checkpoint (PyTorch restores {@code base_lrs}): resumed into an
     * optimizer built with a rate 25 times higher, the schedule goes on as saved.
     */
    @Test
    void theScheduleBaseRateIsRestored() throws Exception {
        Path ckpt = dir.resolve("base.safetensors");
        float[] straight = new float[6];
        try (Sequential m = model(1);
                SGD opt = new SGD(m.parameters(), SGD.Config.lr(0.004f))) {
            StepLR s = new StepLR(opt, 2, 0.5f);
            for (int i = 0; i < 6; i++) {
                step(m, opt, s, i);
                straight[i] = opt.lr();
            }
        }
        saveAfter(ckpt, 3, m -> new SGD(m.parameters(), SGD.Config.lr(0.004f)));
        try (Sequential m = model(1);
                SGD opt = new SGD(m.parameters(), SGD.Config.lr(0.1f))) {
            StepLR s = new StepLR(opt, 2, 0.5f);
            Checkpoint.load(ckpt, m, opt, s);
            assertEquals(straight[2], opt.lr());
            for (int i = 3; i < 6; i++) {
                step(m, opt, s, i);
                assertEquals(straight[i], opt.lr(), "rate after step " + i);
            }
        }
    }
}
