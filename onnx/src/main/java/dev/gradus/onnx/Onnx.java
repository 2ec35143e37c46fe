package dev.gradus.onnx;

import dev.gradus.DType;
import dev.gradus.Shape;
import dev.gradus.io.AtomicFiles;
import dev.gradus.nn.Module;
import dev.gradus.nn.Sequential;
import dev.gradus.onnx.OnnxGraph.Value;
import dev.gradus.onnx.proto.OnnxProto;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a model as an ONNX file (opset 17) that ONNX Runtime, TensorRT, OpenVINO or a browser can serve: a
 * {@link Sequential} of built-in layers, or a model of its own that is {@link OnnxExportable}, becomes ONNX nodes,
 * its weights initializers, the batch axis a symbolic {@code N}. Exported: Dense, Conv2d, MaxPool2d, AvgPool2d,
 * GlobalAvgPool2d, BatchNorm/1d/2d (evaluation form: running statistics), LayerNorm (LayerNormalization), Embedding
 * (Gather), ReLU, Sigmoid, Tanh, GELU, SiLU, LeakyReLU, Softplus, Softmax, Identity, Flatten, Dropout (the
 * identity), LSTM and GRU (ONNX's LSTM and GRU), MultiheadAttention, TransformerEncoderLayer and TransformerEncoder
 * (primitive ops), nested Sequentials.
 *
 * <p>Shapes: the input as given to {@link Config#of} with its first axis symbolic; the output as the model's.
 *
 * <pre>{@code
 * Onnx.export(model, Onnx.Config.of(1, 1, 28, 28).withNormalization(0.1307f, 0.3081f), Path.of("cnn.onnx"));
 * }</pre>
 */
public final class Onnx {
    /** The ONNX operator set the nodes are written for (17: the first with LayerNormalization). */
    public static final int OPSET = 17;

    /** ONNX IR version 8, the one opset 17 came with. */
    static final long IR_VERSION = 8;

    private Onnx() {}

    /**
     * What the exported graph takes: the input shape (its first axis, the batch, becomes symbolic), and what the
     * graph does to the input before the first layer.
     *
     * @param mean subtracted from every input value first (0 for none)
     * @param std the input is divided by it after the mean (1 for none)
     * @param flattenInput whether the input is flattened to {@code [N, rest]} before the first layer, for models
     *     that take flat vectors fed images
     * @param inputType FLOAT32, or INT32 for ids fed to an {@code Embedding}
     */
    public record Config(Shape input, float mean, float std, boolean flattenInput, DType inputType) {
        public Config {
            if (input.rank() < 1) {
                throw new IllegalArgumentException("onnx: the input shape needs a batch axis, got " + input);
            }
            if (!(std > 0) || !Float.isFinite(mean)) {
                throw new IllegalArgumentException(
                        "onnx: normalization needs a finite mean and std > 0, got mean " + mean + ", std " + std);
            }
            if (inputType == null) {
                throw new IllegalArgumentException("onnx: the input type must be FLOAT32 or INT32, got null");
            }
            if (inputType == DType.INT32 && (mean != 0f || std != 1f || flattenInput)) {
                throw new IllegalArgumentException("onnx: INT32 ids are fed as they are (no normalization or"
                        + " flattening), got mean " + mean + ", std " + std + ", flatten " + flattenInput);
            }
        }

        /** A FLOAT32 input. */
        public Config(Shape input, float mean, float std, boolean flattenInput) {
            this(input, mean, std, flattenInput, DType.FLOAT32);
        }

        /** Input of {@code shape} (batch first, e.g. {@code 1, 1, 28, 28}), fed to the model as it is. */
        public static Config of(int... shape) {
            return new Config(Shape.of(shape), 0f, 1f, false);
        }

        /** This config with {@code (x - mean) / std} applied to the input first. */
        public Config withNormalization(float m, float s) {
            return new Config(input, m, s, flattenInput, inputType);
        }

        /** This config with the input flattened to {@code [N, rest]} before the first layer. */
        public Config withFlattenedInput() {
            return new Config(input, mean, std, true, inputType);
        }

        /** This config with an input of {@code type}: INT32 for token ids (an {@code Embedding} first). */
        public Config withInputType(DType type) {
            return new Config(input, mean, std, flattenInput, type);
        }
    }

    /** {@link #export(Module, Config, Path)} for an input of {@code inputShape}, fed as it is. */
    public static void export(Module model, Shape inputShape, Path file) throws IOException {
        export(model, new Config(inputShape, 0f, 1f, false), file);
    }

    /**
     * Writes {@code model} to {@code file} (atomically: a failed export leaves an earlier file as it was).
     *
     * @throws IllegalArgumentException naming the first layer that has no ONNX form, before anything is written
     * @throws IOException if the file cannot be written
     */
    public static void export(Module model, Config config, Path file) throws IOException {
        byte[] bytes = toBytes(model, config);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    /** The ONNX file's bytes for {@code model}; see {@link #export(Module, Config, Path)}. */
    public static byte[] toBytes(Module model, Config config) {
        return model(model, config).toByteArray();
    }

    /** The graph: the input, its normalisation and flattening, the model, the output renamed {@code output}. */
    private static OnnxProto.Model model(Module model, Config config) {
        if (model == null || config == null) {
            throw new IllegalArgumentException("onnx: export needs a model and a config, got "
                    + (model == null ? "no model" : model.describe()) + " and " + config);
        }
        OnnxGraph g = new OnnxGraph();
        boolean ids = config.inputType() == DType.INT32;
        Value x = new Value(g.claim("input", ids), config.input());
        g.proto().addInput(valueInfo("input", config.input(), ids));
        if (config.mean() != 0f) {
            x = g.node("Sub", "normalize_sub", x.shape(), List.of(x.name(), g.scalar("input_mean", config.mean())));
        }
        if (config.std() != 1f) {
            x = g.node("Div", "normalize_div", x.shape(), List.of(x.name(), g.scalar("input_std", config.std())));
        }
        if (config.flattenInput()) {
            Shape s = x.shape();
            Shape flat = Shape.of(s.dim(0), s.numel() / s.dim(0));
            x = g.node("Flatten", "input_flatten", flat, List.of(x.name()), OnnxGraph.intAttr("axis", 1));
        }
        Value y = g.module(model, x, "");
        // The last value is renamed to the graph's output with an Identity, so the name is fixed.
        Value out = g.node("Identity", "output", y.shape(), List.of(y.name()));
        g.proto().addOutput(valueInfo(out.name(), out.shape(), false));
        return OnnxProto.Model.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName("gradus")
                .setProducerVersion(version())
                .addOpsetImport(OnnxProto.OpsetId.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(g.proto())
                .build();
    }

    private static OnnxProto.ValueInfo valueInfo(String name, Shape shape, boolean ints) {
        OnnxProto.Shape.Builder s = OnnxProto.Shape.newBuilder();
        s.addDim(OnnxProto.Shape.Dimension.newBuilder().setDimParam("N"));
        for (int i = 1; i < shape.rank(); i++) {
            s.addDim(OnnxProto.Shape.Dimension.newBuilder().setDimValue(shape.dim(i)));
        }
        return OnnxProto.ValueInfo.newBuilder()
                .setName(name)
                .setType(OnnxProto.Type.newBuilder()
                        .setTensorType(OnnxProto.Type.TensorType.newBuilder()
                                .setElemType(
                                        ints
                                                ? OnnxProto.Tensor.DataType.INT32_VALUE
                                                : OnnxProto.Tensor.DataType.FLOAT_VALUE)
                                .setShape(s)))
                .build();
    }

    private static String version() {
        String v = Onnx.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
