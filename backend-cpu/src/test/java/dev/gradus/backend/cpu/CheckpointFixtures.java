package dev.gradus.backend.cpu;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.LRScheduler;
import dev.gradus.optim.Optimizer;
import dev.gradus.optim.ReduceLROnPlateau;
import dev.gradus.spi.Backend;
import dev.gradus.testing.TrainSteps;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/** What the checkpoint tests share: a small classifier with batch norm, a training step, an edited checkpoint. */
final class CheckpointFixtures {
    private static final Backend CPU = CpuBackendProvider.get();

    private CheckpointFixtures() {}

    /** Dense(in, hidden), BatchNorm1d, ReLU, Dense(hidden, 3), initialised from {@code seed}. */
    static Sequential model(int in, int hidden, long seed) {
        Rng rng = new Rng(seed);
        return new Sequential(
                new Dense(CPU, in, hidden, true, Init.PYTORCH, rng),
                new BatchNorm1d(CPU, BatchNorm.Config.of(hidden)),
                new ReLU(),
                new Dense(CPU, hidden, 3, true, Init.PYTORCH, rng));
    }

    /** One step on {@code x} and labels {@code y}, then the schedule's (a plateau's on the loss); the loss. */
    static float step(Sequential m, Optimizer opt, LRScheduler s, Tensor x, Tensor y) {
        float loss = TrainSteps.crossEntropy(m, opt, x, y);
        if (s instanceof ReduceLROnPlateau p) {
            p.step(loss);
        } else if (s != null) {
            s.step();
        }
        return loss;
    }

    /** {@code ckpt} rewritten as {@code dir/name.safetensors} with its tensors and metadata edited. */
    static Path edited(
            Path dir, Path ckpt, String name, Consumer<Map<String, Tensor>> tensors, Consumer<Map<String, String>> meta)
            throws Exception {
        Safetensors.Contents c = Safetensors.read(ckpt);
        try (Scope scope = Scope.open()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            c.tensors().forEach((k, e) -> t.put(k, Tensor.of(CPU, e.values(), e.shape())));
            Map<String, String> m = new LinkedHashMap<>(c.metadata());
            tensors.accept(t);
            meta.accept(m);
            Path out = dir.resolve(name + ".safetensors");
            Safetensors.write(out, t, m);
            return out;
        }
    }
}
