package dev.gradus.onnx;

import static dev.gradus.onnx.OnnxGraph.floatAttr;
import static dev.gradus.onnx.OnnxGraph.intAttr;
import static dev.gradus.onnx.OnnxGraph.intsAttr;

import dev.gradus.Shape;
import dev.gradus.nn.AdaptiveAvgPool2d;
import dev.gradus.nn.AvgPool2d;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.ConvTranspose2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Dropout;
import dev.gradus.nn.Embedding;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.GRU;
import dev.gradus.nn.GlobalAvgPool2d;
import dev.gradus.nn.LSTM;
import dev.gradus.nn.LayerNorm;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.Module;
import dev.gradus.nn.MultiheadAttention;
import dev.gradus.nn.Recurrent;
import dev.gradus.nn.TransformerEncoder;
import dev.gradus.nn.TransformerEncoderLayer;
import dev.gradus.onnx.OnnxGraph.Value;
import dev.gradus.onnx.proto.OnnxProto;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.PoolParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The ONNX form of each built-in layer, by exact class (a subclass may change {@code forward}, so it is not
 * exported): weights, convolutions, pooling, normalisation, embedding here; activations in
 * {@link ActivationLayers}, recurrent layers in {@link RecurrentLayers}, attention in {@link AttentionLayers}.
 */
final class Layers {
    private static final Set<Class<?>> BATCH_NORMS = Set.of(BatchNorm.class, BatchNorm1d.class, BatchNorm2d.class);

    static final String EXPORTED = "Dense, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d,"
            + " AdaptiveAvgPool2d (global, or sizes that divide), BatchNorm/1d/2d, LayerNorm,"
            + " Embedding, ReLU, Sigmoid, Tanh, GELU, SiLU, LeakyReLU, Softplus, Softmax, Identity, Flatten, Dropout,"
            + " LSTM, GRU, MultiheadAttention, TransformerEncoderLayer, TransformerEncoder, Sequential and modules"
            + " that are OnnxExportable";

    private Layers() {}

    /** Writes built-in layer {@code m} on {@code x}; its nodes and weights are named after {@code name}. */
    static Value write(OnnxGraph g, Module m, Value x, String name) {
        Class<?> c = m.getClass();
        Value out = ActivationLayers.write(g, m, x, name);
        if (out != null) {
            return out;
        }
        if (c == Dense.class) {
            return dense(g, (Dense) m, x, name);
        } else if (c == Conv2d.class) {
            return conv(g, (Conv2d) m, x, name);
        } else if (c == ConvTranspose2d.class) {
            return convTranspose(g, (ConvTranspose2d) m, x, name);
        } else if (c == AdaptiveAvgPool2d.class) {
            return adaptiveAvgPool(g, (AdaptiveAvgPool2d) m, x, name);
        } else if (c == MaxPool2d.class) {
            return pool(g, "MaxPool", name, ((MaxPool2d) m).params(), x, m.outputShape(x.shape()));
        } else if (c == AvgPool2d.class) {
            // PyTorch's default, and ours: padded zeros count in the average.
            return pool(
                    g,
                    "AveragePool",
                    name,
                    ((AvgPool2d) m).params(),
                    x,
                    m.outputShape(x.shape()),
                    intAttr("count_include_pad", 1));
        } else if (c == GlobalAvgPool2d.class) {
            Value pooled = g.node("GlobalAveragePool", name + "_pool", x.shape(), List.of(x.name()));
            return g.node("Flatten", name, m.outputShape(x.shape()), List.of(pooled.name()), intAttr("axis", 1));
        } else if (BATCH_NORMS.contains(c)) {
            return batchNorm(g, (BatchNorm) m, x, name);
        } else if (c == Flatten.class) {
            return g.node("Flatten", name, m.outputShape(x.shape()), List.of(x.name()), intAttr("axis", 1));
        } else if (c == Dropout.class) {
            return x; // the identity in evaluation
        } else if (c == LayerNorm.class) {
            return layerNorm(g, (LayerNorm) m, x, name);
        } else if (c == Embedding.class) {
            return embedding(g, (Embedding) m, x, name);
        } else if (c == LSTM.class || c == GRU.class) {
            return RecurrentLayers.write(g, (Recurrent) m, x, name);
        } else if (c == MultiheadAttention.class) {
            return AttentionLayers.attention(g, (MultiheadAttention) m, x, name);
        } else if (c == TransformerEncoderLayer.class) {
            return AttentionLayers.encoderLayer(g, (TransformerEncoderLayer) m, x, name);
        } else if (c == TransformerEncoder.class) {
            return AttentionLayers.encoder(g, (TransformerEncoder) m, x, name);
        }
        throw new IllegalArgumentException("no ONNX form for " + c.getName() + " (exported: " + EXPORTED
                + "; a subclass may change forward, so it is not)");
    }

    /** {@code [N, in]}: Gemm; {@code [..., in]}: MatMul by the transposed weight, then Add. */
    static Value dense(OnnxGraph g, Dense d, Value x, String name) {
        int[] ws = d.weight().shape().dims(); // [out, in]
        Shape s = x.shape();
        if (s.rank() == 0 || s.dim(-1) != ws[1]) {
            throw new IllegalArgumentException("Dense takes [..., " + ws[1] + "], got " + s
                    + (s.rank() > 2 ? "; flatten the input first (Config.withFlattenedInput or a Flatten layer)" : ""));
        }
        Shape out = d.outputShape(s);
        if (s.rank() == 2) {
            List<String> in = new ArrayList<>(
                    List.of(x.name(), g.parameter(name + "_weight", d.weight()).name()));
            if (d.bias() != null) {
                in.add(g.parameter(name + "_bias", d.bias()).name());
            }
            return g.node("Gemm", name, out, in, intAttr("transB", 1));
        }
        String w = g.floats(name + "_weight_t", transposed(d.weight().toFloatArray(), ws[0], ws[1]), ws[1], ws[0]);
        Value y = g.node("MatMul", d.bias() == null ? name : name + "_matmul", out, List.of(x.name(), w));
        return d.bias() == null
                ? y
                : g.node(
                        "Add",
                        name,
                        out,
                        List.of(y.name(), g.parameter(name + "_bias", d.bias()).name()));
    }

    /** {@code w [rows, cols]} as {@code [cols, rows]}. */
    static float[] transposed(float[] w, int rows, int cols) {
        float[] t = new float[w.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = w[r * cols + c];
            }
        }
        return t;
    }

    private static Value conv(OnnxGraph g, Conv2d conv, Value x, String name) {
        ConvParams p = conv.config().params();
        Shape out = conv.outputShape(x.shape());
        List<String> in = new ArrayList<>(
                List.of(x.name(), g.parameter(name + "_weight", conv.weight()).name()));
        if (conv.bias() != null) {
            in.add(g.parameter(name + "_bias", conv.bias()).name());
        }
        int[] ws = conv.weight().shape().dims();
        return g.node(
                "Conv",
                name,
                out,
                in,
                intsAttr("kernel_shape", ws[2], ws[3]),
                intsAttr("strides", p.strideH(), p.strideW()),
                intsAttr("pads", p.padH(), p.padW(), p.padH(), p.padW()),
                intsAttr("dilations", p.dilationH(), p.dilationW()),
                intAttr("group", p.groups()));
    }

    /** ONNX's ConvTranspose has PyTorch's semantics and weight layout {@code [in, out / groups, kH, kW]}. */
    private static Value convTranspose(OnnxGraph g, ConvTranspose2d conv, Value x, String name) {
        ConvTranspose2d.Config c = conv.config();
        Shape out = conv.outputShape(x.shape());
        List<String> in = new ArrayList<>(
                List.of(x.name(), g.parameter(name + "_weight", conv.weight()).name()));
        if (conv.bias() != null) {
            in.add(g.parameter(name + "_bias", conv.bias()).name());
        }
        return g.node(
                "ConvTranspose",
                name,
                out,
                in,
                intsAttr("kernel_shape", c.kernelH(), c.kernelW()),
                intsAttr("strides", c.strideH(), c.strideW()),
                intsAttr("pads", c.paddingH(), c.paddingW(), c.paddingH(), c.paddingW()),
                intsAttr("output_padding", c.outputPaddingH(), c.outputPaddingW()),
                intsAttr("dilations", c.dilationH(), c.dilationW()),
                intAttr("group", c.groups()));
    }

    /**
     * GlobalAveragePool for a 1x1 output; AveragePool with kernel and stride {@code in / out} when the output's size
     * divides the input's (the bins are then equal); other sizes have no ONNX form.
     */
    private static Value adaptiveAvgPool(OnnxGraph g, AdaptiveAvgPool2d m, Value x, String name) {
        Shape s = x.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("AdaptiveAvgPool2d exports for [N, C, H, W] inputs, got " + s);
        }
        int h = s.dim(2);
        int w = s.dim(3);
        Shape out = m.outputShape(s);
        if (m.outH() == 1 && m.outW() == 1) {
            return g.node("GlobalAveragePool", name, out, List.of(x.name()));
        }
        if (h % m.outH() != 0 || w % m.outW() != 0) {
            throw new IllegalArgumentException("AdaptiveAvgPool2d(" + m.outH() + ", " + m.outW() + ") on " + s
                    + " has bins of unequal sizes, which no ONNX op computes; export it with sizes that divide "
                    + h + "x" + w);
        }
        int kh = h / m.outH();
        int kw = w / m.outW();
        return pool(g, "AveragePool", name, new PoolParams(kh, kw, kh, kw, 0, 0), x, out);
    }

    private static Value pool(
            OnnxGraph g, String op, String name, PoolParams p, Value x, Shape out, OnnxProto.Attribute... extra) {
        List<OnnxProto.Attribute> attrs = new ArrayList<>(List.of(
                intsAttr("kernel_shape", p.kernelH(), p.kernelW()),
                intsAttr("strides", p.strideH(), p.strideW()),
                intsAttr("pads", p.padH(), p.padW(), p.padH(), p.padW())));
        attrs.addAll(List.of(extra));
        return g.node(op, name, out, List.of(x.name()), attrs.toArray(new OnnxProto.Attribute[0]));
    }

    /** Evaluation form: the running statistics. */
    private static Value batchNorm(OnnxGraph g, BatchNorm bn, Value x, String name) {
        int c = bn.config().features();
        Shape out = bn.outputShape(x.shape());
        float[] ones = new float[c];
        Arrays.fill(ones, 1f);
        String scale = bn.weight() != null
                ? g.parameter(name + "_weight", bn.weight()).name()
                : g.floats(name + "_weight", ones, c);
        String bias = bn.bias() != null
                ? g.parameter(name + "_bias", bn.bias()).name()
                : g.floats(name + "_bias", new float[c], c);
        return g.node(
                "BatchNormalization",
                name,
                out,
                List.of(
                        x.name(),
                        scale,
                        bias,
                        g.parameter(name + "_running_mean", bn.runningMean()).name(),
                        g.parameter(name + "_running_var", bn.runningVar()).name()),
                floatAttr("epsilon", bn.config().eps()));
    }

    /** ONNX's LayerNormalization (opset 17) over the last {@code normalizedShape.length} axes. */
    static Value layerNorm(OnnxGraph g, LayerNorm ln, Value x, String name) {
        int[] norm = ln.config().normalizedShape();
        Shape s = x.shape();
        int lead = s.rank() - norm.length;
        if (lead < 0 || !Arrays.equals(Arrays.copyOfRange(s.dims(), lead, s.rank()), norm)) {
            throw new IllegalArgumentException("LayerNorm expects [..., " + Arrays.toString(norm) + "], got " + s);
        }
        List<String> in = new ArrayList<>(List.of(x.name()));
        if (ln.weight() != null) {
            in.add(g.parameter(name + "_weight", ln.weight()).name());
            in.add(g.parameter(name + "_bias", ln.bias()).name());
        } else {
            float[] ones = new float[Shape.of(norm).numel()];
            Arrays.fill(ones, 1f);
            in.add(g.floats(name + "_weight", ones, norm));
        }
        return g.node(
                "LayerNormalization",
                name,
                s,
                in,
                intAttr("axis", -norm.length),
                floatAttr("epsilon", ln.config().eps()));
    }

    /** Gather of the table's rows by the INT32 ids; the padding row (if any) written as zeros, as forward gives it. */
    private static Value embedding(OnnxGraph g, Embedding e, Value x, String name) {
        if (!g.isInteger(x)) {
            throw new IllegalArgumentException("Embedding takes INT32 ids: feed it the graph's input, declared with"
                    + " Config.withInputType(DType.INT32)");
        }
        int[] ws = e.weight().shape().dims();
        float[] table = e.weight().toFloatArray();
        if (e.paddingIdx() != Embedding.NO_PADDING) {
            Arrays.fill(table, e.paddingIdx() * ws[1], (e.paddingIdx() + 1) * ws[1], 0f);
        }
        int[] out = Arrays.copyOf(x.shape().dims(), x.shape().rank() + 1);
        out[out.length - 1] = ws[1];
        String w = g.floats(name + "_weight", table, ws);
        return g.node("Gather", name, Shape.of(out), List.of(w, x.name()), intAttr("axis", 0));
    }
}
