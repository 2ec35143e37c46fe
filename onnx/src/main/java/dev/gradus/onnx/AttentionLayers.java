package dev.gradus.onnx;

import static dev.gradus.onnx.ActivationLayers.binary;
import static dev.gradus.onnx.ActivationLayers.unary;
import static dev.gradus.onnx.ActivationLayers.withScalar;
import static dev.gradus.onnx.OnnxGraph.intAttr;

import dev.gradus.Shape;
import dev.gradus.nn.Module;
import dev.gradus.nn.MultiheadAttention;
import dev.gradus.nn.TransformerEncoder;
import dev.gradus.nn.TransformerEncoderLayer;
import dev.gradus.onnx.OnnxGraph.Value;
import java.util.Arrays;
import java.util.List;

/**
 * Self-attention and transformer encoders as ONNX's primitive ops (MatMul, Add, Reshape, Transpose, Mul, Softmax,
 * LayerNormalization), step for step as Gradus computes them, without masks (what {@code forward(x)} uses) and in
 * evaluation form (dropout the identity).
 */
final class AttentionLayers {
    private AttentionLayers() {}

    /**
     * {@code MultiheadAttention.forward(x)}: query, key and value projected, split into heads, {@code softmax(q k^T
     * / sqrt(E / heads)) v}, heads joined, projected by {@code out_proj}.
     */
    static Value attention(OnnxGraph g, MultiheadAttention m, Value x, String name) {
        MultiheadAttention.Config c = m.config();
        int e = c.embedDim();
        Shape s = x.shape();
        if (s.rank() != 3 || s.dim(2) != e) {
            throw new IllegalArgumentException(
                    "expected input " + (c.batchFirst() ? "[N, L, " : "[L, N, ") + e + "], got " + s);
        }
        Value q = c.batchFirst() ? x : g.transpose(x, 0, 1); // [N, L, E]
        int n = q.shape().dim(0);
        int l = q.shape().dim(1);
        int heads = c.numHeads();
        int d = e / heads;
        float[] w = m.inProjWeight().toFloatArray();
        float[] b = m.inProjBias() == null ? null : m.inProjBias().toFloatArray();
        Value[] qkv = new Value[3];
        String[] part = {"q", "k", "v"};
        for (int i = 0; i < 3; i++) {
            String at = name + "_" + part[i];
            float[] chunk = Arrays.copyOfRange(w, i * e * e, (i + 1) * e * e);
            String wt = g.floats(at + "_weight_t", Layers.transposed(chunk, e, e), e, e);
            Value y = g.node("MatMul", at + "_matmul", q.shape(), List.of(q.name(), wt));
            if (b != null) {
                String bias = g.floats(at + "_bias", Arrays.copyOfRange(b, i * e, (i + 1) * e), e);
                y = g.node("Add", at, q.shape(), List.of(y.name(), bias));
            }
            qkv[i] = g.reshape(y, n, l, heads, d); // [N, L, heads, d]
        }
        Value qh = g.permute(qkv[0], 0, 2, 1, 3); // [N, heads, L, d]
        Value kt = g.permute(qkv[1], 0, 2, 3, 1); // [N, heads, d, L]
        Value vh = g.permute(qkv[2], 0, 2, 1, 3);
        Value scores = g.node("MatMul", name + "_scores", Shape.of(n, heads, l, l), List.of(qh.name(), kt.name()));
        Value scaled = withScalar(g, "Mul", name + "_scaled", scores, (float) (1 / Math.sqrt(d)));
        Value weights =
                g.node("Softmax", name + "_softmax", scaled.shape(), List.of(scaled.name()), intAttr("axis", -1));
        Value ctx = g.node("MatMul", name + "_context", Shape.of(n, heads, l, d), List.of(weights.name(), vh.name()));
        Value joined = g.reshape(g.permute(ctx, 0, 2, 1, 3), n, l, e);
        Value out = g.module(m.outProj(), joined, name + "_out_proj");
        return c.batchFirst() ? out : g.transpose(out, 0, 1);
    }

    /** {@code TransformerEncoderLayer.forward(x)}: attention and feed-forward blocks, norms before or after. */
    static Value encoderLayer(OnnxGraph g, TransformerEncoderLayer m, Value x, String name) {
        if (m.config().normFirst()) {
            Value a = attention(g, m.selfAttn(), Layers.layerNorm(g, m.norm1(), x, name + "_norm1"), name + "_attn");
            Value h = binary(g, "Add", name + "_residual1", x, a);
            Value f = feedForward(g, m, Layers.layerNorm(g, m.norm2(), h, name + "_norm2"), name);
            return binary(g, "Add", name, h, f);
        }
        Value h = Layers.layerNorm(
                g,
                m.norm1(),
                binary(g, "Add", name + "_residual1", x, attention(g, m.selfAttn(), x, name + "_attn")),
                name + "_norm1");
        Value f = feedForward(g, m, h, name);
        return Layers.layerNorm(g, m.norm2(), binary(g, "Add", name + "_residual2", h, f), name);
    }

    /** {@code linear2(activation(linear1(x)))}. */
    private static Value feedForward(OnnxGraph g, TransformerEncoderLayer m, Value x, String name) {
        Value hidden = Layers.dense(g, m.linear1(), x, name + "_linear1");
        Value act = "gelu".equals(m.config().activation())
                ? ActivationLayers.gelu(g, hidden, name + "_gelu")
                : unary(g, "Relu", name + "_relu", hidden);
        return Layers.dense(g, m.linear2(), act, name + "_linear2");
    }

    /** {@code TransformerEncoder.forward(x)}: each layer, then the final norm if any. */
    static Value encoder(OnnxGraph g, TransformerEncoder m, Value x, String name) {
        Value h = x;
        int i = 0;
        for (Module layer : m.layers()) {
            h = g.module(layer, h, name + "_layers_" + i++);
        }
        return m.norm() == null ? h : g.module(m.norm(), h, name + "_norm");
    }
}
