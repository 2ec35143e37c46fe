package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.DType;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.io.Checkpoint;
import dev.gradus.io.ModelFormatException;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.Module;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.optim.LRScheduler;
import dev.gradus.optim.OneCycleLR;
import dev.gradus.optim.Optimizer;
import dev.gradus.optim.ReduceLROnPlateau;
import dev.gradus.optim.SGD;
import dev.gradus.spi.Backend;
import dev.gradus.testing.Fuzz;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An attacker's pass over {@link Checkpoint#load}: mutated and random bytes, and hand-made hostile checkpoints (wrong
 * optimizer state, step counts and rates that are not numbers, schedule fields out of range, a model file passed as
 * a checkpoint and the reverse). Each is refused with a {@link ModelFormatException} or an
 * {@link IllegalArgumentException} of one line naming the file and the tensor or field, and leaves the model, the
 * optimizer and the schedule exactly as they were.
 */
class CheckpointFuzzTest {
    @TempDir
    Path dir;

    private static final Backend CPU = CpuBackendProvider.get();

    private static Sequential model(long seed) {
        return CheckpointFixtures.model(5, 8, seed);
    }

    private static void train(Sequential m, Optimizer opt, LRScheduler s, int steps, long seed) {
        Rng rng = new Rng(seed);
        for (int i = 0; i < steps; i++) {
            try (Scope sc = Scope.open()) {
                Tensor x = Tensor.randn(CPU, rng, 16, 5);
                int[] y = new int[16];
                for (int k = 0; k < y.length; k++) {
                    y[k] = rng.nextInt(3);
                }
                CheckpointFixtures.step(m, opt, s, x, Tensor.ofInts(CPU, y, 16));
            }
        }
    }

    /** Everything a load could change, as plain values. */
    private static String snapshot(Module m, Optimizer opt, LRScheduler s) {
        StringBuilder b = new StringBuilder();
        Map<String, Tensor> all = new LinkedHashMap<>(m.namedParameters());
        all.putAll(m.namedBuffers());
        all.putAll(opt.state());
        all.forEach((k, t) -> b.append(k)
                .append('=')
                .append(
                        t.dtype() == DType.FLOAT32
                                ? Arrays.toString(t.toFloatArray())
                                : Arrays.toString(t.toIntArray()))
                .append('\n'));
        b.append("steps=").append(opt.steps()).append(" lr=").append(opt.lr());
        if (s != null) {
            b.append(" schedule=").append(s.state());
        }
        return b.toString();
    }

    /** A checkpoint of a model trained 6 steps with Adam and a one-cycle schedule. */
    private Path adamCheckpoint(String name) throws Exception {
        Path ckpt = dir.resolve(name);
        try (Sequential m = model(1);
                Adam adam = new Adam(m.parameters(), Adam.Config.lr(0.01f))) {
            OneCycleLR s = new OneCycleLR(adam, 0.05f, 40);
            train(m, adam, s, 6, 5);
            Checkpoint.save(ckpt, m, adam, s);
        }
        return ckpt;
    }

    /** A checkpoint of a model trained 3 steps with SGD and momentum and a plateau schedule. */
    private Path plateauCheckpoint(String name) throws Exception {
        Path ckpt = dir.resolve(name);
        try (Sequential m = model(2);
                SGD sgd = new SGD(m.parameters(), SGD.Config.lr(0.05f).withMomentum(0.9f, false))) {
            ReduceLROnPlateau s = new ReduceLROnPlateau(sgd, 0.5f, 1, 1e-4f, 1, 0f);
            train(m, sgd, s, 3, 6);
            Checkpoint.save(ckpt, m, sgd, s);
        }
        return ckpt;
    }

    /**
     * Mutated bytes of a real checkpoint and random bytes, loaded into a live model, Adam and schedule: each input
     * loads or is refused with the documented exceptions, one line naming the file, and a refusal changes nothing.
     */
    @Test
    void mutatedCheckpointsLoadOrAreRefusedWithoutChangingAnything() throws Exception {
        Path good = adamCheckpoint("good.safetensors");
        Path other = plateauCheckpoint("plateau.safetensors");
        try (Sequential m = model(9);
                Adam adam = new Adam(m.parameters(), Adam.Config.lr(0.01f))) {
            OneCycleLR s = new OneCycleLR(adam, 0.05f, 40);
            train(m, adam, s, 2, 7);
            Path restore = dir.resolve("target.safetensors");
            Checkpoint.save(restore, m, adam, s);
            String before = snapshot(m, adam, s);
            var result = Fuzz.reader("checkpoint-load", f -> {
                        try {
                            Checkpoint.load(f, m, adam, s);
                        } catch (ModelFormatException | IllegalArgumentException e) {
                            String msg = e.getMessage();
                            if (msg == null || !msg.contains(f.toString()) || msg.contains("\n")) {
                                throw new AssertionError("not one line naming the file: " + msg, e);
                            }
                            if (!before.equals(snapshot(m, adam, s))) {
                                throw new AssertionError("a refused checkpoint changed the model or optimizer: " + msg);
                            }
                            throw e;
                        }
                        Checkpoint.load(restore, m, adam, s); // loaded: undo it for the next input
                    })
                    .text()
                    .documented(e -> e instanceof ModelFormatException || e instanceof IllegalArgumentException)
                    .run(dir, List.of(Files.readAllBytes(good), Files.readAllBytes(other)), 1_200, 26);
            assertTrue(result.rejected() > 500, result.toString());
            assertEquals(before, snapshot(m, adam, s));
        }
    }

    private Path edited(
            Path ckpt, String name, Consumer<Map<String, Tensor>> tensors, Consumer<Map<String, String>> meta)
            throws Exception {
        return CheckpointFixtures.edited(dir, ckpt, name, tensors, meta);
    }

    /** {@code ckpt} with the tensor {@code key} set to zeros of {@code shape} (added or replaced). */
    private Path withZeros(Path ckpt, String name, String key, int... shape) throws Exception {
        return edited(ckpt, name, t -> t.put(key, Tensor.zeros(CPU, shape)), m -> {});
    }

    /** {@code ckpt} with {@code from} replaced by {@code to} (same length) inside the header text {@code where}. */
    private Path patched(Path ckpt, String name, String where, String from, String to) throws Exception {
        byte[] b = Files.readAllBytes(ckpt);
        String text = new String(b, StandardCharsets.ISO_8859_1);
        int at = text.indexOf(where);
        assertTrue(at > 0 && from.length() == to.length(), where);
        int inner = text.indexOf(from, at);
        byte[] repl = to.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(repl, 0, b, inner, repl.length);
        Path out = dir.resolve(name + ".safetensors");
        Files.write(out, b);
        return out;
    }

    private static Consumer<Map<String, String>> put(String key, String value) {
        return m -> m.put(key, value);
    }

    private record Case(Path file, Class<? extends Exception> type, String says) {}

    /** A case per {@code {"scheduler.field", value}}: that field set to the value, refused naming {@code 'field'}. */
    private void schedulerFieldCases(List<Case> cases, Path good, String prefix, String[][] fieldValues)
            throws Exception {
        for (String[] kv : fieldValues) {
            cases.add(new Case(
                    edited(good, prefix + cases.size(), t -> {}, put(kv[0], kv[1])),
                    ModelFormatException.class,
                    "'" + kv[0].substring("scheduler.".length()) + "'"));
        }
    }

    /**
     * Hand-made hostile checkpoints, each loaded into a trained model, Adam and one-cycle schedule: the documented
     * exception, one line naming the file and the field or tensor, and nothing changed.
     */
    @Test
    void hostileCheckpointsNameTheFieldAndChangeNothing() throws Exception {
        Path good = adamCheckpoint("base.safetensors");
        Consumer<Map<String, Tensor>> none = t -> {};
        Consumer<Map<String, String>> same = m -> {};
        Class<ModelFormatException> mfe = ModelFormatException.class;
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        List<Case> cases = new ArrayList<>();
        // step counts that are not counts
        for (String v : new String[] {"NaN", "-1", "1.5", "9223372036854775808", "", "0x10", "1e3", "Infinity"}) {
            cases.add(new Case(
                    edited(good, "steps" + cases.size(), none, put("optimizer.steps", v)), mfe, "'optimizer.steps'"));
        }
        cases.add(new Case(edited(good, "steps-missing", none, m -> m.remove("optimizer.steps")), mfe, "steps"));
        // rates that are not rates
        for (String v : new String[] {"NaN", "-0.1", "Infinity", "-Infinity", "abc", "", "1e40"}) {
            cases.add(new Case(edited(good, "lr" + cases.size(), none, put("optimizer.lr", v)), mfe, "'optimizer.lr'"));
        }
        // schedule fields
        schedulerFieldCases(cases, good, "sched", new String[][] {
            {"scheduler.steps", "NaN"},
            {"scheduler.steps", "-4"},
            {"scheduler.steps", "2147483648"},
            {"scheduler.steps", "x"},
            {"scheduler.base_lr", "NaN"},
            {"scheduler.base_lr", "-0.5"},
            {"scheduler.base_lr", "Infinity"},
            {"scheduler.base_lr", "1e39"},
        });
        cases.add(new Case(edited(good, "sched-missing", none, m -> m.remove("scheduler.steps")), mfe, "'steps'"));
        // optimizer state of the wrong shape, dtype, name or index
        cases.add(new Case(
                withZeros(good, "moment-transposed", "optimizer.exp_avg.0", 5, 8),
                mfe,
                "'exp_avg.0' has shape [5, 8]"));
        cases.add(new Case(withZeros(good, "moment-flat", "optimizer.exp_avg_sq.2", 64), mfe, "'exp_avg_sq.2'"));
        cases.add(new Case(withZeros(good, "moment-scalar", "optimizer.exp_avg.1"), mfe, "'exp_avg.1'"));
        cases.add(new Case(
                patched(good, "moment-int", "\"optimizer.exp_avg.1\":{\"dtype\":\"F32\"", "F32", "I32"),
                mfe,
                "'optimizer.exp_avg.1' is I32"));
        cases.add(new Case(withZeros(good, "moment-index", "optimizer.exp_avg.99", 3), mfe, "'exp_avg.99'"));
        cases.add(new Case(withZeros(good, "moment-leading-zero", "optimizer.exp_avg.01", 8), mfe, "'exp_avg.01'"));
        cases.add(new Case(withZeros(good, "moment-no-index", "optimizer.exp_avg", 8), mfe, "'exp_avg'"));
        cases.add(new Case(
                withZeros(good, "momentum-in-adam", "optimizer.momentum_buffer.0", 8, 5), mfe, "'momentum_buffer.0'"));
        cases.add(new Case(
                edited(good, "half-moments", t -> t.remove("optimizer.exp_avg.3"), same), mfe, "'exp_avg_sq.3'"));
        cases.add(new Case(
                edited(good, "no-state", t -> t.keySet().removeIf(k -> k.startsWith("optimizer.")), same),
                mfe,
                "FRESH_OPTIMIZER_STATE"));
        // model tensors
        cases.add(new Case(
                patched(good, "model-dtype", "\"model.0.bias\":{\"dtype\":\"F32\"", "F32", "I32"),
                mfe,
                "'model.0.bias' is I32"));
        cases.add(new Case(
                withZeros(good, "model-shape", "model.3.weight", 4, 8), iae, "'model.3.weight' has shape [4, 8]"));
        cases.add(new Case(
                edited(good, "model-missing", t -> t.remove("model.1.running_var"), same),
                iae,
                "'model.1.running_var'"));
        cases.add(new Case(withZeros(good, "model-extra", "model.9.weight", 2), iae, "'model.9.weight'"));
        cases.add(new Case(withZeros(good, "stray", "lr_scheduler.x", 1), mfe, "'lr_scheduler.x'"));
        // what kind of file it is
        cases.add(new Case(
                edited(good, "version-2", none, put("gradus.checkpoint", "2")), mfe, "not a Gradus checkpoint"));
        cases.add(new Case(edited(good, "other-optimizer", none, put("optimizer", "SGD")), iae, "optimizer SGD"));
        cases.add(new Case(
                edited(good, "optimizer-missing", none, m -> m.remove("optimizer")), iae, "saved with optimizer"));
        cases.add(new Case(edited(good, "other-schedule", none, put("scheduler", "StepLR")), iae, "scheduler StepLR"));
        cases.add(new Case(edited(good, "no-schedule", none, put("scheduler", "none")), iae, "scheduler none"));
        Path modelFile = dir.resolve("model.safetensors");
        try (Sequential m = model(3)) {
            Safetensors.save(m, modelFile);
        }
        cases.add(new Case(modelFile, mfe, "not a Gradus checkpoint"));
        Path otherArch = dir.resolve("wider.safetensors");
        try (Sequential m = new Sequential(
                        new Dense(CPU, 5, 16, true, Init.PYTORCH, new Rng(1)),
                        new BatchNorm1d(CPU, BatchNorm.Config.of(16)),
                        new ReLU(),
                        new Dense(CPU, 16, 3, true, Init.PYTORCH, new Rng(2)));
                Adam adam = new Adam(m.parameters(), Adam.Config.lr(0.01f))) {
            OneCycleLR s = new OneCycleLR(adam, 0.05f, 40);
            train(m, adam, s, 1, 3);
            Checkpoint.save(otherArch, m, adam, s);
        }
        cases.add(new Case(otherArch, Exception.class, "shape"));

        try (Sequential m = model(11);
                Adam adam = new Adam(m.parameters(), Adam.Config.lr(0.01f))) {
            OneCycleLR s = new OneCycleLR(adam, 0.05f, 40);
            train(m, adam, s, 3, 8);
            assertTrue(cases.size() >= 45, cases.size() + " cases");
            List<String> failed = refusals(cases, m, adam, s);
            assertEquals(List.of(), failed, String.join("\n", failed));
        }
    }

    /** Loads each case into {@code m}, {@code opt} and {@code s}; what did not hold. */
    private static List<String> refusals(List<Case> cases, Module m, Optimizer opt, LRScheduler s) {
        List<String> failed = new ArrayList<>();
        for (Case c : cases) {
            String before = snapshot(m, opt, s);
            String name = c.file().getFileName().toString();
            try {
                Checkpoint.load(c.file(), m, opt, s);
                failed.add(name + ": loaded");
            } catch (Exception e) {
                String msg = String.valueOf(e.getMessage());
                boolean typeOk = c.type() == Exception.class
                        ? e instanceof ModelFormatException || e instanceof IllegalArgumentException
                        : c.type().isInstance(e);
                if (!typeOk || !msg.contains(c.file().toString()) || msg.contains("\n") || !msg.contains(c.says())) {
                    failed.add(name + ": " + e);
                }
            }
            if (!before.equals(snapshot(m, opt, s))) {
                failed.add(name + ": changed the model, the optimizer or the schedule");
            }
        }
        return failed;
    }

    /** A plateau schedule's own fields (best metric, counters, its rate) over SGD with momentum. */
    @Test
    void hostilePlateauAndMomentumCheckpointsChangeNothing() throws Exception {
        Path good = plateauCheckpoint("plateau.safetensors");
        Consumer<Map<String, Tensor>> none = t -> {};
        Class<ModelFormatException> mfe = ModelFormatException.class;
        List<Case> cases = new ArrayList<>();
        schedulerFieldCases(cases, good, "plateau", new String[][] {
            {"scheduler.best", "NaN"},
            {"scheduler.best", "low"},
            {"scheduler.bad_epochs", "-2"},
            {"scheduler.bad_epochs", "1.5"},
            {"scheduler.cooldown_counter", "x"},
            {"scheduler.cooldown_counter", "99999999999"},
            {"scheduler.lr", "-1"},
            {"scheduler.lr", "NaN"},
            {"scheduler.lr", "1e39"},
        });
        for (String k : new String[] {"scheduler.best", "scheduler.bad_epochs", "scheduler.lr"}) {
            cases.add(new Case(
                    edited(good, "plateau-no-" + k, none, m -> m.remove(k)),
                    mfe,
                    "'" + k.substring("scheduler.".length()) + "'"));
        }
        cases.add(new Case(
                edited(
                        good,
                        "momentum-shape",
                        t -> t.put("optimizer.momentum_buffer.0", Tensor.zeros(CPU, 40)),
                        m -> {}),
                mfe,
                "'momentum_buffer.0' has shape [40]"));
        cases.add(new Case(
                edited(good, "moments-in-sgd", t -> t.put("optimizer.exp_avg.0", Tensor.zeros(CPU, 8, 5)), m -> {}),
                mfe,
                "'exp_avg.0'"));
        try (Sequential m = model(12);
                SGD sgd = new SGD(m.parameters(), SGD.Config.lr(0.05f).withMomentum(0.9f, false))) {
            ReduceLROnPlateau s = new ReduceLROnPlateau(sgd, 0.5f, 1, 1e-4f, 1, 0f);
            train(m, sgd, s, 2, 9);
            List<String> failed = refusals(cases, m, sgd, s);
            assertEquals(List.of(), failed, String.join("\n", failed));
        }
    }

    /**
     * A checkpoint passed where a model file is expected is refused with a line that says it is a checkpoint and how
     * to load it (the reverse already says "load it with Safetensors.load"), and changes nothing.
     */
    @Test
    void aCheckpointPassedAsAModelFileSaysSo() throws Exception {
        Path ckpt = adamCheckpoint("as-model.safetensors");
        try (Sequential m = model(4)) {
            float[] before = m.namedParameters().get("0.weight").toFloatArray();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Safetensors.load(m, ckpt));
            assertTrue(
                    e.getMessage().startsWith(ckpt.toString())
                            && e.getMessage().contains("Checkpoint.load")
                            && !e.getMessage().contains("\n"),
                    e.getMessage());
            assertArrayEquals(before, m.namedParameters().get("0.weight").toFloatArray());
            // the non-strict load too: it would load nothing and report every tensor as missing
            IllegalArgumentException e2 =
                    assertThrows(IllegalArgumentException.class, () -> Safetensors.load(m, ckpt, false));
            assertTrue(e2.getMessage().contains("Checkpoint.load"), e2.getMessage());
            assertArrayEquals(before, m.namedParameters().get("0.weight").toFloatArray());
        }
    }
}
