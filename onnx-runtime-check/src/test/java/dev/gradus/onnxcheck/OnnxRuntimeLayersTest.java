package dev.gradus.onnxcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.gradus.Backends;
import dev.gradus.DType;
import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.AdaptiveAvgPool2d;
import dev.gradus.nn.ConvTranspose2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Embedding;
import dev.gradus.nn.GELU;
import dev.gradus.nn.GRU;
import dev.gradus.nn.Identity;
import dev.gradus.nn.Init;
import dev.gradus.nn.LSTM;
import dev.gradus.nn.LayerNorm;
import dev.gradus.nn.LeakyReLU;
import dev.gradus.nn.Module;
import dev.gradus.nn.MultiheadAttention;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.Recurrent;
import dev.gradus.nn.Sequential;
import dev.gradus.nn.SiLU;
import dev.gradus.nn.Softplus;
import dev.gradus.nn.TransformerEncoder;
import dev.gradus.nn.TransformerEncoderLayer;
import dev.gradus.onnx.Onnx;
import dev.gradus.spi.Backend;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each layer exported since opset 17 (alone, or in the small stack named), weights drawn at random, on odd shapes,
 * run in ONNX Runtime: the output matches Gradus's within 1e-4 of its scale. The file is written for a first axis
 * of 2 and run with 3, so the symbolic axis is checked to be really free.
 */
class OnnxRuntimeLayersTest {
    private static final Backend BE = Backends.defaultBackend();

    static Stream<Arguments> layers() {
        Recurrent.Config small = Recurrent.Config.of(5, 7);
        Recurrent.Config deep = Recurrent.Config.of(5, 7)
                .withBatchFirst()
                .withBidirectional()
                .withLayers(2)
                .withDropout(0.3f);
        Recurrent.Config bare = Recurrent.Config.of(5, 6).withBatchFirst().withoutBias();
        TransformerEncoderLayer.Config post =
                TransformerEncoderLayer.Config.of(12, 3).withFeedforward(20);
        TransformerEncoderLayer.Config pre = TransformerEncoderLayer.Config.of(12, 3)
                .withFeedforward(20)
                .withActivation("gelu")
                .withBatchFirst()
                .withNormFirst();
        return Stream.of(
                layer("LayerNorm(7)", rng -> new LayerNorm(BE, LayerNorm.Config.of(7)), 3, 5, 7),
                layer(
                        "LayerNorm([5, 7], eps 1e-3, no affine)",
                        rng -> new LayerNorm(
                                BE, LayerNorm.Config.of(5, 7).withEps(1e-3f).withoutAffine()),
                        3,
                        5,
                        7),
                layer("GELU", rng -> new GELU(), 3, 5, 7),
                layer("GELU(tanh)", rng -> new GELU("tanh"), 3, 5, 7),
                layer("SiLU", rng -> new SiLU(), 3, 5, 7),
                layer("LeakyReLU(0.2)", rng -> new LeakyReLU(0.2f), 3, 5, 7),
                layer("Softplus", rng -> new Softplus(), 3, 5, 7),
                layer("Softplus(beta 2, threshold 1)", rng -> new Softplus(2f, 1f), 3, 5, 7),
                layer("Identity", rng -> new Identity(), 3, 5, 7),
                layer("LSTM time-major", rng -> new LSTM(BE, small, rng), 3, 4, 5),
                layer("LSTM 2 layers bidirectional batch-first", rng -> new LSTM(BE, deep, rng), 3, 4, 5),
                layer("LSTM no bias", rng -> new LSTM(BE, bare, rng), 3, 4, 5),
                layer("GRU time-major", rng -> new GRU(BE, small, rng), 3, 4, 5),
                layer("GRU 2 layers bidirectional batch-first", rng -> new GRU(BE, deep, rng), 3, 4, 5),
                layer("GRU no bias", rng -> new GRU(BE, bare, rng), 3, 4, 5),
                layer(
                        "MultiheadAttention time-major",
                        rng -> new MultiheadAttention(BE, MultiheadAttention.Config.of(12, 3), rng),
                        3,
                        5,
                        12),
                layer(
                        "MultiheadAttention batch-first",
                        rng -> new MultiheadAttention(
                                BE, MultiheadAttention.Config.of(12, 3).withBatchFirst(), rng),
                        3,
                        5,
                        12),
                layer(
                        "MultiheadAttention no bias",
                        rng -> new MultiheadAttention(
                                BE,
                                MultiheadAttention.Config.of(12, 4)
                                        .withBatchFirst()
                                        .withoutBias(),
                                rng),
                        3,
                        5,
                        12),
                layer(
                        "TransformerEncoderLayer post-norm relu time-major",
                        rng -> new TransformerEncoderLayer(BE, post, rng),
                        3,
                        5,
                        12),
                layer(
                        "TransformerEncoderLayer pre-norm gelu batch-first",
                        rng -> new TransformerEncoderLayer(BE, pre, rng),
                        3,
                        5,
                        12),
                layer(
                        "TransformerEncoder 2 layers and a norm",
                        rng -> new TransformerEncoder(
                                2, i -> new TransformerEncoderLayer(BE, pre, rng), new LayerNorm(12)),
                        3,
                        5,
                        12),
                layer(
                        "ConvTranspose2d 3->5, kernel 3x2, stride 2x3, padding 1, output padding 1, dilation 2",
                        rng -> new ConvTranspose2d(
                                BE, new ConvTranspose2d.Config(3, 5, 3, 2, 2, 3, 1, 1, 1, 1, 1, true, 2, 2), rng),
                        3,
                        3,
                        5,
                        7),
                layer(
                        "ConvTranspose2d 4->6, groups 2, no bias",
                        rng -> new ConvTranspose2d(
                                BE,
                                ConvTranspose2d.Config.of(4, 6, 4)
                                        .withStride(2)
                                        .withPadding(1)
                                        .withGroups(2)
                                        .withBias(false),
                                rng),
                        3,
                        4,
                        5,
                        6),
                layer("AdaptiveAvgPool2d(1)", rng -> new AdaptiveAvgPool2d(1), 3, 4, 5, 7),
                layer("AdaptiveAvgPool2d(3, 2) on 6x8", rng -> new AdaptiveAvgPool2d(3, 2), 3, 4, 6, 8),
                layer(
                        "Sequential(LSTM, Dense on [N, T, H], GELU)",
                        rng -> new Sequential(
                                new LSTM(BE, bare, rng), new Dense(BE, 6, 4, true, Init.PYTORCH, rng), new GELU()),
                        3,
                        4,
                        5));
    }

    private static Arguments layer(String name, Function<Rng, Module> make, int... shape) {
        return Arguments.of(name, make, shape);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layers")
    void eachLayerGivesTheSameOutputInOnnxRuntime(String name, Function<Rng, Module> make, int[] shape)
            throws Exception {
        Rng rng = new Rng(17);
        float[] input = new float[Shape.of(shape).numel()];
        for (int i = 0; i < input.length; i++) {
            input[i] = rng.nextFloat() * 6 - 3;
        }
        int[] exported = shape.clone();
        exported[0] = 2;
        try (Module m = make.apply(rng)) {
            randomise(m, rng);
            m.eval();
            float[] expected;
            try (GradMode g = GradMode.noGrad();
                    Scope s = Scope.open()) {
                expected = m.forward(Tensor.of(BE, input, shape)).toFloatArray();
            }
            byte[] model = Onnx.toBytes(m, Onnx.Config.of(exported));
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), longs(shape))) {
                compare(name, expected, run(model, x));
            }
        }
    }

    /** Ids through an Embedding whose padding row holds non-zero weights: the output there is zero, as Gradus's. */
    @Test
    void embeddingGathersTheRowsOfIntIds() throws Exception {
        Rng rng = new Rng(23);
        int[] ids = new int[3 * 5];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i % 4 == 0 ? 3 : rng.nextInt(11);
        }
        try (Embedding e = new Embedding(BE, 11, 6, 3, rng)) {
            randomise(e, rng);
            float[] expected;
            try (GradMode g = GradMode.noGrad();
                    Scope s = Scope.open()) {
                expected = e.forward(Tensor.ofInts(BE, ids, 3, 5)).toFloatArray();
            }
            byte[] model = Onnx.toBytes(e, Onnx.Config.of(2, 5).withInputType(DType.INT32));
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OnnxTensor x = OnnxTensor.createTensor(env, IntBuffer.wrap(ids), new long[] {3, 5})) {
                float[] got = run(model, x);
                compare("Embedding", expected, got);
                assertEquals(0f, got[0], "the padding id's row");
            }
        }
    }

    /** Every parameter uniform in [-0.5, 0.5] (biases and norms away from their zeros and ones). */
    private static void randomise(Module m, Rng rng) {
        for (Parameter p : m.parameters()) {
            try (Tensor t = Tensor.uniform(rng, -0.5f, 0.5f, p.shape().dims())) {
                p.copyFrom(t);
            }
        }
    }

    private static float[] run(byte[] model, OnnxTensor x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(model, new OrtSession.SessionOptions());
                OrtSession.Result result = session.run(Map.of("input", x))) {
            FloatBuffer b = ((OnnxTensor) result.get("output").orElseThrow()).getFloatBuffer();
            float[] out = new float[b.remaining()];
            b.get(out);
            return out;
        }
    }

    /** Same length, and the largest difference within 1e-4 of the larger of 1 and the output's largest value. */
    static void compare(String name, float[] expected, float[] got) {
        assertEquals(expected.length, got.length, name + ": output size");
        double worst = 0;
        double scale = 1;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        System.out.printf("%s: largest |ONNX Runtime - Gradus| %.2e (scale %.2f)%n", name, worst, scale);
        assertTrue(worst <= 1e-4 * scale, name + ": outputs differ by " + worst + " at scale " + scale);
    }

    private static long[] longs(int[] shape) {
        return Arrays.stream(shape).asLongStream().toArray();
    }
}
