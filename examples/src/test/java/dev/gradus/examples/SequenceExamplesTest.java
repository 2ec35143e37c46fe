package dev.gradus.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.Mnist;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.Module;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
import dev.gradus.train.Training;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lstm and vit examples' models: PyTorch's parameter names, a summary that lists their layers, a file that
 * {@code predict} rebuilds with the same outputs, and a few Adam steps on real digits that lower the loss. (Their
 * accuracy goals take full runs of several minutes: docs/examples.md.)
 */
class SequenceExamplesTest {
    private static void learnsAndRoundTrips(Module model, Map<String, String> meta, List<String> names, Path dir)
            throws Exception {
        Backend b = Backends.defaultBackend();
        String example = meta.get("gradus.example");
        List<String> have = List.copyOf(model.namedParameters().keySet());
        for (String n : names) {
            assertTrue(have.contains(n), example + ": no parameter " + n + " in " + have);
        }
        String table = model.summary(Shape.of(2, 1, 28, 28));
        assertTrue(table.contains("[2, 10]") && !table.contains("?"), table);
        Dataset digits = Mnist.load(MlpExampleTest.mnistDir(), false).train().subset(0, 512);
        DataLoader loader = new DataLoader(digits, 64).shuffle(1);
        try (Adam opt = new Adam(model.parameters(), Adam.Config.lr(5e-3f))) {
            double first = 0;
            double last = 0;
            for (int epoch = 0; epoch < 4; epoch++) {
                double sum = 0;
                try (var batches = loader.epoch(b)) {
                    for (DataLoader.Batch batch : batches) {
                        try (batch;
                                Scope s = Scope.open()) {
                            sum += Training.step(model, opt, batch.x(), batch.y())
                                    .item();
                        }
                    }
                }
                first = epoch == 0 ? sum : first;
                last = sum;
            }
            assertTrue(last < 0.9 * first, example + ": loss " + first + " -> " + last);
        }
        model.eval();
        Path file = dir.resolve(example + ".safetensors");
        Safetensors.save(model, file, meta);
        Models.Saved back = Models.load(file, b.device());
        try (Module twin = back.model();
                Scope s = Scope.open()) {
            Tensor x = Tensor.of(b, digits.features(), digits.size(), 1, 28, 28).narrow(0, 0, 8);
            assertArrayEquals(model.forward(x).toFloatArray(), twin.forward(x).toFloatArray(), 1e-5f);
        }
    }

    @Test
    void rowLstm(@TempDir Path dir) throws Exception {
        try (RowLstm m = new RowLstm(Device.defaultDevice(), 32, new Rng(1))) {
            learnsAndRoundTrips(
                    m,
                    Map.of("gradus.example", "lstm", "gradus.hidden", "32"),
                    List.of("lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "head.weight"),
                    dir);
        }
    }

    @Test
    void visionTransformer(@TempDir Path dir) throws Exception {
        try (VisionTransformer m = new VisionTransformer(Device.defaultDevice(), new Rng(1))) {
            learnsAndRoundTrips(
                    m,
                    Map.of("gradus.example", "vit"),
                    List.of(
                            "patch.weight",
                            "cls_token",
                            "pos_embed",
                            "encoder.layers.0.self_attn.in_proj_weight",
                            "encoder.layers.3.self_attn.out_proj.weight",
                            "encoder.layers.0.linear1.weight",
                            "encoder.layers.0.norm1.weight",
                            "norm.weight",
                            "head.weight"),
                    dir);
        }
    }
}
