package dev.gradus.onnxcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.gradus.Backends;
import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.examples.BnCnnCommand;
import dev.gradus.examples.CnnCommand;
import dev.gradus.examples.ExportOnnxCommand;
import dev.gradus.examples.Models;
import dev.gradus.examples.RowLstm;
import dev.gradus.examples.VisionTransformer;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.Module;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The examples' models (the Sequentials, and the lstm and vit models that write their own forward), saved and
 * exported with {@code export-onnx}, run in ONNX Runtime: the logits match Gradus's within 1e-4 of their scale on
 * the same pixels, normalisation included.
 */
class OnnxRuntimeTest {
    @TempDir
    Path dir;

    private static Module build(String example, Backend be) {
        Rng rng = new Rng(11);
        return switch (example) {
            case "cnn" -> CnnCommand.model(be, rng);
            case "bn-cnn" -> BnCnnCommand.model(be, rng);
            case "lstm" -> new RowLstm(be.device(), 128, rng);
            case "vit" -> new VisionTransformer(be.device(), rng);
            default -> Models.mlp(be, new int[] {48}, 0.2f, rng);
        };
    }

    private static Map<String, String> meta(String example) {
        return switch (example) {
            case "mlp" -> Models.describe("mlp", new int[] {48}, 0.2f);
            case "lstm" -> Map.of("gradus.example", "lstm", "gradus.hidden", "128");
            default -> Map.of("gradus.example", example);
        };
    }

    /**
     * Running statistics away from their initial 0 and 1, so that evaluation mode is really checked; the vit's
     * tokens, biases and norms (zeros, ones and 0.02-scale at first) drawn in [-0.5, 0.5], so each counts.
     */
    private static void randomiseStatistics(Module m, Rng rng) {
        if (m instanceof VisionTransformer) {
            for (Parameter p : m.parameters()) {
                if (p.shape().rank() == 1 || p.shape().dim(0) == 1) {
                    try (Tensor t = Tensor.uniform(rng, -0.5f, 0.5f, p.shape().dims())) {
                        p.copyFrom(t);
                    }
                }
            }
        }
        if (!(m instanceof Sequential s)) {
            return;
        }
        for (Module layer : s.layers()) {
            if (layer instanceof BatchNorm bn) {
                int c = bn.config().features();
                try (Tensor mean = Tensor.uniform(rng, -0.5f, 0.5f, c);
                        Tensor var = Tensor.uniform(rng, 0.5f, 2f, c)) {
                    bn.runningMean().copyFrom(mean);
                    bn.runningVar().copyFrom(var);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "cnn", "bn-cnn", "lstm", "vit"})
    void exportedModelsGiveTheSameLogitsInOnnxRuntime(String example) throws Exception {
        Backend be = Backends.defaultBackend();
        Path saved = dir.resolve(example + ".safetensors");
        Path onnx = dir.resolve(example + ".onnx");
        int n = 7;
        float[] pixels = new float[n * 28 * 28];
        Rng rng = new Rng(5);
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = rng.nextFloat();
        }
        float[] expected;
        try (Module model = build(example, be)) {
            randomiseStatistics(model, rng);
            Safetensors.save(model, saved, meta(example));
            model.eval();
            try (GradMode g = GradMode.noGrad();
                    Scope s = Scope.open()) {
                Tensor x = Tensor.of(be, pixels, n, 1, 28, 28);
                float[] norm = Models.normalization(meta(example));
                if (norm != null) {
                    x = x.sub(norm[0]).div(norm[1]);
                }
                expected = model.forward(x).toFloatArray();
            }
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ExportOnnxCommand.export(saved, onnx, new PrintStream(log, true));
        assertTrue(log.toString().contains("output logits [N, 10]"), log.toString());

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
                OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(pixels), new long[] {n, 1, 28, 28});
                OrtSession.Result result = session.run(Map.of("input", input))) {
            float[][] got = (float[][]) result.get("output").orElseThrow().getValue();
            assertEquals(n, got.length);
            double worst = 0;
            double scale = 1;
            for (int i = 0; i < n; i++) {
                assertEquals(10, got[i].length);
                for (int j = 0; j < 10; j++) {
                    worst = Math.max(worst, Math.abs(got[i][j] - expected[i * 10 + j]));
                    scale = Math.max(scale, Math.abs(expected[i * 10 + j]));
                }
            }
            System.out.printf(
                    "%s: largest |ONNX Runtime - Gradus| logit difference %.2e (scale %.2f)%n", example, worst, scale);
            assertTrue(worst <= 1e-4 * scale, example + ": logits differ by " + worst + " at scale " + scale);
        }
    }
}
