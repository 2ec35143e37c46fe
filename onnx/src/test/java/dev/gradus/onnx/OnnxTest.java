package dev.gradus.onnx;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.DType;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.AdaptiveAvgPool2d;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Embedding;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.Module;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.onnx.OnnxGraph.Value;
import dev.gradus.onnx.proto.OnnxProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The graph written for each layer, read back with the same schema; ONNX Runtime runs them in onnx-runtime-check. */
class OnnxTest {
    /** Exporting {@code m} with {@code config} is refused with an IllegalArgumentException; its message. */
    private static String refusal(Module m, Onnx.Config config) {
        return assertThrows(IllegalArgumentException.class, () -> Onnx.toBytes(m, config))
                .getMessage();
    }

    /** A layer with no ONNX form: {@code x * 2}, described as "Doubler". */
    private static Module doubler() {
        return new Module() {
            @Override
            public Tensor forward(Tensor x) {
                return x.mul(2f);
            }

            @Override
            public String describe() {
                return "Doubler";
            }
        };
    }

    @Test
    void aCnnBecomesTheNodesAndWeightsOfItsLayers(@TempDir Path dir) throws Exception {
        Rng rng = new Rng(3);
        try (Sequential m = new Sequential(
                new Conv2d(Conv2d.Config.of(1, 4, 3).withPadding(1), rng),
                new BatchNorm2d(4),
                new ReLU(),
                new MaxPool2d(2),
                new Flatten(),
                new Dense(4 * 14 * 14, 10, true, dev.gradus.nn.Init.PYTORCH, rng))) {
            m.eval();
            Path file = dir.resolve("m.onnx");
            Onnx.export(m, Onnx.Config.of(1, 1, 28, 28).withNormalization(0.1307f, 0.3081f), file);
            OnnxProto.Model model = OnnxProto.Model.parseFrom(Files.readAllBytes(file));
            assertEquals(Onnx.OPSET, model.getOpsetImport(0).getVersion());
            List<String> ops = model.getGraph().getNodeList().stream()
                    .map(OnnxProto.Node::getOpType)
                    .toList();
            assertEquals(
                    List.of(
                            "Sub",
                            "Div",
                            "Conv",
                            "BatchNormalization",
                            "Relu",
                            "MaxPool",
                            "Flatten",
                            "Gemm",
                            "Identity"),
                    ops);
            OnnxProto.Tensor w = model.getGraph().getInitializerList().stream()
                    .filter(t -> t.getName().equals("layer5_weight"))
                    .findFirst()
                    .orElseThrow();
            assertEquals(List.of(10L, 784L), w.getDimsList());
            float[] back = new float[10 * 784];
            ByteBuffer.wrap(w.getRawData().toByteArray())
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer()
                    .get(back);
            Dense dense = (Dense) m.layers().get(5);
            assertEquals(dense.weight().toFloatArray()[123], back[123]);
            assertEquals(
                    "N",
                    model.getGraph()
                            .getInput(0)
                            .getType()
                            .getTensorType()
                            .getShape()
                            .getDim(0)
                            .getDimParam());
            assertEquals(
                    10,
                    model.getGraph()
                            .getOutput(0)
                            .getType()
                            .getTensorType()
                            .getShape()
                            .getDim(1)
                            .getDimValue());
        }
    }

    /**
     * A model that writes its own forward: its glue and children become nodes in its order; a child with no ONNX
     * form is named once, by its full path, not again by each module around it.
     */
    @Test
    void aModelWritesItsOwnForwardAndItsChildrenAreNamed() throws Exception {
        Module doubler = doubler();
        class Head extends Module implements OnnxExportable {
            final Module inner;

            Head(Module inner) {
                this.inner = inner;
            }

            @Override
            public Tensor forward(Tensor x) {
                return inner.forward(x.reshape(x.shape().dim(0), 6));
            }

            @Override
            public OnnxGraph.Value toOnnx(OnnxGraph graph, OnnxGraph.Value x, String name) {
                return graph.module(inner, graph.reshape(x, x.shape().dim(0), 6), name + "_inner");
            }
        }
        try (Sequential ok = new Sequential(new ReLU(), new Head(new Dense(6, 4)));
                Sequential bad = new Sequential(new ReLU(), new Head(doubler))) {
            OnnxProto.Model model = OnnxProto.Model.parseFrom(Onnx.toBytes(ok, Onnx.Config.of(1, 2, 3)));
            assertEquals(17, model.getOpsetImport(0).getVersion());
            assertEquals(
                    List.of("Relu", "Reshape", "Gemm", "Identity"),
                    model.getGraph().getNodeList().stream()
                            .map(OnnxProto.Node::getOpType)
                            .toList());
            OnnxProto.Tensor shape = model.getGraph().getInitializerList().stream()
                    .filter(t -> t.getName().startsWith("reshape_shape"))
                    .findFirst()
                    .orElseThrow();
            long[] dims = new long[2];
            ByteBuffer.wrap(shape.getRawData().toByteArray())
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .asLongBuffer()
                    .get(dims);
            assertEquals(0L, dims[0], "the batch axis is copied, so it stays symbolic");
            assertEquals(6L, dims[1]);
            String e = refusal(bad, Onnx.Config.of(1, 2, 3));
            assertTrue(e.startsWith("onnx: layer1_inner (Doubler) on input [1, 6]: no ONNX form"), e);
        }
    }

    /** An Embedding needs ids: a float input is refused with the way to declare INT32 ids. */
    @Test
    void anAdaptivePoolWithUnequalBinsIsRefusedByName() {
        try (Module m = new AdaptiveAvgPool2d(4, 3)) {
            String x = refusal(m, Onnx.Config.of(1, 2, 7, 7));
            assertTrue(x.contains("AdaptiveAvgPool2d(4, 3) on [1, 2, 7, 7] has bins of unequal sizes"), x);
        }
    }

    @Test
    void anEmbeddingNeedsAnInt32Input() {
        try (Embedding e = new Embedding(10, 3)) {
            String x = refusal(e, Onnx.Config.of(1, 4));
            assertTrue(x.contains("withInputType(DType.INT32)"), x);
            OnnxProto.Model model = assertDoesNotThrow(() -> OnnxProto.Model.parseFrom(
                    Onnx.toBytes(e, Onnx.Config.of(1, 4).withInputType(DType.INT32))));
            assertEquals(
                    OnnxProto.Tensor.DataType.INT32_VALUE,
                    model.getGraph().getInput(0).getType().getTensorType().getElemType());
        }
    }

    /** A layer with no ONNX form: the error names where it is, and nothing is written. */
    @Test
    void aLayerWithoutAnOnnxFormIsNamed(@TempDir Path dir) {
        Module custom = doubler();
        try (Sequential m = new Sequential(new Dense(4, 3), new ReLU(), custom)) {
            Path file = dir.resolve("x.onnx");
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Onnx.export(m, Shape.of(1, 4), file));
            assertTrue(
                    e.getMessage().startsWith("onnx: layer2 (Doubler) on input [1, 3]: no ONNX form"), e.getMessage());
            assertTrue(!Files.exists(file));
            String flat = refusal(m, Onnx.Config.of(1, 1, 2, 2));
            assertTrue(flat.contains("layer0 (Dense(4 -> 3))") && flat.contains("flatten"), flat);
        }
    }

    /**
     * A user's {@link OnnxExportable} that throws something other than IllegalArgumentException, or returns null,
     * and a closed layer: each export fails with the layer's path and input shape, as a missing ONNX form does.
     */
    @Test
    void anExportableThatFailsAndAClosedLayerAreNamed() {
        Module throwing = new Exportable(null);
        Module returnsNull = new Exportable(new Value[1]);
        Dense closed = new Dense(4, 3);
        closed.close();
        String[][] cases = {
            {"onnx: layer0_1 (Exportable) on input [1, 3]: " + NullPointerException.class.getName() + ": oops"},
            {"onnx: layer0_1 (Exportable) on input [1, 3]: its toOnnx returned null, not the output's value"},
            {"onnx: layer0_0 (Dense(4 -> 3)) on input [1, 4]: " + IllegalStateException.class.getName() + ": "}
        };
        Module[] layers = {throwing, returnsNull, closed};
        for (int i = 0; i < layers.length; i++) {
            Module second = i == 2 ? new ReLU() : layers[i];
            Module first = i == 2 ? closed : new Dense(4, 3);
            Sequential m = new Sequential(new Sequential(first, second));
            String e = refusal(m, Onnx.Config.of(1, 4));
            assertTrue(e.startsWith(cases[i][0]), e);
            if (i != 2) {
                m.close();
            }
        }
        String none = refusal(null, Onnx.Config.of(1, 4));
        assertTrue(none.startsWith("onnx: export needs a model and a config"), none);
    }

    /** Writes nothing: throws NullPointerException when {@code out} is null, else returns {@code out[0]}. */
    private static final class Exportable extends Module implements OnnxExportable {
        private final Value[] out;

        Exportable(Value[] out) {
            this.out = out;
        }

        @Override
        public Tensor forward(Tensor x) {
            return x;
        }

        @Override
        public Value toOnnx(OnnxGraph graph, Value x, String name) {
            if (out == null) {
                throw new NullPointerException("oops");
            }
            return out[0];
        }

        @Override
        public String describe() {
            return "Exportable";
        }
    }
}
