package dev.gradus.onnx;

import com.google.protobuf.ByteString;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.io.AtomicFiles;
import dev.gradus.nn.AvgPool2d;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Dropout;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.GlobalAvgPool2d;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.Module;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.nn.Sigmoid;
import dev.gradus.nn.Softmax;
import dev.gradus.nn.Tanh;
import dev.gradus.onnx.proto.OnnxProto;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.PoolParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Writes a model as an ONNX file (opset 13) that ONNX Runtime, TensorRT, OpenVINO or a browser can serve: the
 * layers of a {@link Sequential} become ONNX nodes, their weights initializers, the batch axis a symbolic {@code N}.
 * Batch norm is written in its evaluation form (running statistics), dropout as the identity.
 *
 * <p>Shapes: the input as given to {@link Config#of} with its first axis symbolic; the output as the model's.
 *
 * <pre>{@code
 * Onnx.export(model, Onnx.Config.of(1, 1, 28, 28).withNormalization(0.1307f, 0.3081f), Path.of("cnn.onnx"));
 * }</pre>
 */
public final class Onnx {
    /** The ONNX operator set the nodes are written for. */
    public static final int OPSET = 13;

    /** ONNX IR version 7, the one opset 13 came with. */
    static final long IR_VERSION = 7;

    private static final Set<Class<?>> BATCH_NORMS = Set.of(BatchNorm.class, BatchNorm1d.class, BatchNorm2d.class);

    private Onnx() {}

    /**
     * What the exported graph takes: the input shape (its first axis, the batch, becomes symbolic), and what the
     * graph does to the input before the first layer.
     *
     * @param mean subtracted from every input value first (0 for none)
     * @param std the input is divided by it after the mean (1 for none)
     * @param flattenInput whether the input is flattened to {@code [N, rest]} before the first layer, for models
     *     that take flat vectors fed images
     */
    public record Config(Shape input, float mean, float std, boolean flattenInput) {
        public Config {
            if (input.rank() < 1) {
                throw new IllegalArgumentException("onnx: the input shape needs a batch axis, got " + input);
            }
            if (!(std > 0) || !Float.isFinite(mean)) {
                throw new IllegalArgumentException(
                        "onnx: normalization needs a finite mean and std > 0, got mean " + mean + ", std " + std);
            }
        }

        /** Input of {@code shape} (batch first, e.g. {@code 1, 1, 28, 28}), fed to the model as it is. */
        public static Config of(int... shape) {
            return new Config(Shape.of(shape), 0f, 1f, false);
        }

        /** This config with {@code (x - mean) / std} applied to the input first. */
        public Config withNormalization(float m, float s) {
            return new Config(input, m, s, flattenInput);
        }

        /** This config with the input flattened to {@code [N, rest]} before the first layer. */
        public Config withFlattenedInput() {
            return new Config(input, mean, std, true);
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
        return new Writer(config).model(model).toByteArray();
    }

    /** Builds one graph: nodes in order, each layer's output named after the layer. */
    private static final class Writer {
        private final Config config;
        private final OnnxProto.Graph.Builder graph =
                OnnxProto.Graph.newBuilder().setName("gradus");
        private String current = "input";
        private Shape shape;
        private int counter;

        Writer(Config config) {
            this.config = config;
            this.shape = config.input();
        }

        OnnxProto.Model model(Module model) {
            graph.addInput(valueInfo("input", config.input()));
            if (config.mean() != 0f) {
                current = node("Sub", "normalize_sub", List.of(current, scalar("input_mean", config.mean())));
            }
            if (config.std() != 1f) {
                current = node("Div", "normalize_div", List.of(current, scalar("input_std", config.std())));
            }
            if (config.flattenInput()) {
                current = flatten("input_flatten");
            }
            layers(model, "");
            // The last value is renamed to the graph's output with an Identity, so the name is fixed.
            node("Identity", "output", List.of(current));
            graph.addOutput(valueInfo("output", shape));
            return OnnxProto.Model.newBuilder()
                    .setIrVersion(IR_VERSION)
                    .setProducerName("gradus")
                    .setProducerVersion(version())
                    .addOpsetImport(OnnxProto.OpsetId.newBuilder().setDomain("").setVersion(OPSET))
                    .setGraph(graph)
                    .build();
        }

        private void layers(Module m, String path) {
            if (m.getClass() == Sequential.class) {
                List<Module> layers = ((Sequential) m).layers();
                for (int i = 0; i < layers.size(); i++) {
                    layers(layers.get(i), path.isEmpty() ? "layer" + i : path + "_" + i);
                }
                return;
            }
            Shape in = shape;
            String name = path.isEmpty() ? "layer0" : path;
            try {
                layer(m, name);
                shape = m.outputShape(in);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "onnx: " + name + " (" + m.describe() + ") on input " + in + ": " + e.getMessage(), e);
            }
        }

        private void layer(Module m, String name) {
            Class<?> c = m.getClass();
            if (c == Dense.class) {
                Dense d = (Dense) m;
                if (shape.rank() != 2) {
                    throw new IllegalArgumentException("ONNX's Gemm takes [N, features]; flatten the input first"
                            + " (Config.withFlattenedInput or a Flatten layer)");
                }
                List<String> in = new ArrayList<>(List.of(current, weight(name + "_weight", d.weight())));
                if (d.bias() != null) {
                    in.add(weight(name + "_bias", d.bias()));
                }
                current = node("Gemm", name, in, intAttr("transB", 1));
            } else if (c == Conv2d.class) {
                Conv2d conv = (Conv2d) m;
                ConvParams p = conv.config().params();
                List<String> in = new ArrayList<>(List.of(current, weight(name + "_weight", conv.weight())));
                if (conv.bias() != null) {
                    in.add(weight(name + "_bias", conv.bias()));
                }
                int[] ws = conv.weight().shape().dims();
                current = node(
                        "Conv",
                        name,
                        in,
                        intsAttr("kernel_shape", ws[2], ws[3]),
                        intsAttr("strides", p.strideH(), p.strideW()),
                        intsAttr("pads", p.padH(), p.padW(), p.padH(), p.padW()),
                        intsAttr("dilations", p.dilationH(), p.dilationW()),
                        intAttr("group", p.groups()));
            } else if (c == MaxPool2d.class) {
                current = pool("MaxPool", name, ((MaxPool2d) m).params(), null);
            } else if (c == AvgPool2d.class) {
                // PyTorch's default, and ours: padded zeros count in the average.
                current = pool("AveragePool", name, ((AvgPool2d) m).params(), intAttr("count_include_pad", 1));
            } else if (c == GlobalAvgPool2d.class) {
                current = node("GlobalAveragePool", name + "_pool", List.of(current));
                current = flatten(name);
            } else if (BATCH_NORMS.contains(c)) {
                current = batchNorm((BatchNorm) m, name);
            } else if (c == ReLU.class) {
                current = node("Relu", name, List.of(current));
            } else if (c == Sigmoid.class) {
                current = node("Sigmoid", name, List.of(current));
            } else if (c == Tanh.class) {
                current = node("Tanh", name, List.of(current));
            } else if (c == Softmax.class) {
                current = node("Softmax", name, List.of(current), intAttr("axis", ((Softmax) m).axis()));
            } else if (c == Flatten.class) {
                current = flatten(name);
            } else if (c == Dropout.class) {
                return; // the identity in evaluation
            } else {
                throw new IllegalArgumentException("no ONNX form for " + c.getName() + " (exported: Dense, Conv2d,"
                        + " MaxPool2d, AvgPool2d, GlobalAvgPool2d, BatchNorm/1d/2d, ReLU, Sigmoid, Tanh, Softmax,"
                        + " Flatten, Dropout and Sequential; a subclass may change forward, so it is not)");
            }
        }

        private String batchNorm(BatchNorm bn, String name) {
            int c = bn.config().features();
            float[] ones = new float[c];
            Arrays.fill(ones, 1f);
            String scale =
                    bn.weight() != null ? weight(name + "_weight", bn.weight()) : floats(name + "_weight", ones, c);
            String bias =
                    bn.bias() != null ? weight(name + "_bias", bn.bias()) : floats(name + "_bias", new float[c], c);
            return node(
                    "BatchNormalization",
                    name,
                    List.of(
                            current,
                            scale,
                            bias,
                            weight(name + "_running_mean", bn.runningMean()),
                            weight(name + "_running_var", bn.runningVar())),
                    floatAttr("epsilon", bn.config().eps()));
        }

        private String pool(String op, String name, PoolParams p, OnnxProto.Attribute extra) {
            List<OnnxProto.Attribute> attrs = new ArrayList<>(List.of(
                    intsAttr("kernel_shape", p.kernelH(), p.kernelW()),
                    intsAttr("strides", p.strideH(), p.strideW()),
                    intsAttr("pads", p.padH(), p.padW(), p.padH(), p.padW())));
            if (extra != null) {
                attrs.add(extra);
            }
            return node(op, name, List.of(current), attrs.toArray(new OnnxProto.Attribute[0]));
        }

        private String flatten(String name) {
            return node("Flatten", name, List.of(current), intAttr("axis", 1));
        }

        /** Adds a node with one output, named {@code name}, and returns that name. */
        private String node(String op, String name, List<String> inputs, OnnxProto.Attribute... attrs) {
            graph.addNode(OnnxProto.Node.newBuilder()
                    .setName(name + "_" + counter++)
                    .setOpType(op)
                    .addAllInput(inputs)
                    .addOutput(name)
                    .addAllAttribute(List.of(attrs)));
            return name;
        }

        private String weight(String name, Tensor t) {
            return floats(name, t.toFloatArray(), t.shape().dims());
        }

        private String scalar(String name, float v) {
            return floats(name, new float[] {v});
        }

        private String floats(String name, float[] values, int... dims) {
            ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            OnnxProto.Tensor.Builder t = OnnxProto.Tensor.newBuilder()
                    .setName(name)
                    .setDataType(OnnxProto.Tensor.DataType.FLOAT_VALUE)
                    .setRawData(ByteString.copyFrom(b.array()));
            for (int d : dims) {
                t.addDims(d);
            }
            graph.addInitializer(t);
            return name;
        }
    }

    private static OnnxProto.ValueInfo valueInfo(String name, Shape shape) {
        OnnxProto.Shape.Builder s = OnnxProto.Shape.newBuilder();
        s.addDim(OnnxProto.Shape.Dimension.newBuilder().setDimParam("N"));
        for (int i = 1; i < shape.rank(); i++) {
            s.addDim(OnnxProto.Shape.Dimension.newBuilder().setDimValue(shape.dim(i)));
        }
        return OnnxProto.ValueInfo.newBuilder()
                .setName(name)
                .setType(OnnxProto.Type.newBuilder()
                        .setTensorType(OnnxProto.Type.TensorType.newBuilder()
                                .setElemType(OnnxProto.Tensor.DataType.FLOAT_VALUE)
                                .setShape(s)))
                .build();
    }

    private static OnnxProto.Attribute.Builder attr(String name, OnnxProto.Attribute.Type type) {
        return OnnxProto.Attribute.newBuilder().setName(name).setType(type);
    }

    private static OnnxProto.Attribute intAttr(String name, long v) {
        return attr(name, OnnxProto.Attribute.Type.INT).setI(v).build();
    }

    private static OnnxProto.Attribute floatAttr(String name, float v) {
        return attr(name, OnnxProto.Attribute.Type.FLOAT).setF(v).build();
    }

    private static OnnxProto.Attribute intsAttr(String name, long... v) {
        OnnxProto.Attribute.Builder a = attr(name, OnnxProto.Attribute.Type.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    private static String version() {
        String v = Onnx.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
