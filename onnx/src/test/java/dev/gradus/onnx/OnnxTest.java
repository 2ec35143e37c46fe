package dev.gradus.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.Module;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
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

    /** A layer with no ONNX form: the error names where it is, and nothing is written. */
    @Test
    void aLayerWithoutAnOnnxFormIsNamed(@TempDir Path dir) {
        Module custom = new Module() {
            @Override
            public Tensor forward(Tensor x) {
                return x.mul(2f);
            }

            @Override
            public String describe() {
                return "Doubler";
            }
        };
        try (Sequential m = new Sequential(new Dense(4, 3), new ReLU(), custom)) {
            Path file = dir.resolve("x.onnx");
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Onnx.export(m, Shape.of(1, 4), file));
            assertTrue(
                    e.getMessage().startsWith("onnx: layer2 (Doubler) on input [1, 3]: no ONNX form"), e.getMessage());
            assertTrue(!Files.exists(file));
            IllegalArgumentException flat =
                    assertThrows(IllegalArgumentException.class, () -> Onnx.toBytes(m, Onnx.Config.of(1, 1, 2, 2)));
            assertTrue(
                    flat.getMessage().contains("layer0 (Dense(4 -> 3))")
                            && flat.getMessage().contains("flatten"),
                    flat.getMessage());
        }
    }
}
