package dev.gradus.onnx;

import static dev.gradus.onnx.OnnxGraph.intAttr;
import static dev.gradus.onnx.OnnxGraph.stringAttr;

import dev.gradus.Shape;
import dev.gradus.nn.LSTM;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.Recurrent;
import dev.gradus.onnx.OnnxGraph.Value;
import dev.gradus.onnx.proto.OnnxProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * LSTM and GRU as ONNX's own LSTM and GRU nodes, one per layer (both directions in one node), from zero initial
 * states, in evaluation form (no dropout between layers).
 *
 * <p>The gate blocks of the weights are reordered: PyTorch's LSTM has (input, forget, cell, output), ONNX's
 * (input, output, forget, cell); PyTorch's GRU (reset, update, new), ONNX's (update, reset, hidden), with
 * {@code linear_before_reset=1} as PyTorch computes the new gate. ONNX's time-major {@code Y [T, D, N, H]} is
 * brought back to Gradus's {@code [T, N, D * H]} (or {@code [N, T, D * H]} with {@code batchFirst}).
 */
final class RecurrentLayers {
    /** For each ONNX gate block, the PyTorch block it comes from. */
    private static final int[] LSTM_ORDER = {0, 3, 1, 2};

    private static final int[] GRU_ORDER = {1, 0, 2};

    private RecurrentLayers() {}

    static Value write(OnnxGraph g, Recurrent r, Value x, String name) {
        Recurrent.Config c = r.config();
        Shape s = x.shape();
        if (s.rank() != 3 || s.dim(2) != c.inputSize()) {
            throw new IllegalArgumentException(
                    "expected input " + (c.batchFirst() ? "[N, T, " : "[T, N, ") + c.inputSize() + "], got " + s);
        }
        boolean lstm = r instanceof LSTM;
        int[] order = lstm ? LSTM_ORDER : GRU_ORDER;
        int gates = order.length;
        int h = c.hiddenSize();
        int dirs = c.bidirectional() ? 2 : 1;
        Map<String, Parameter> params = r.namedParameters();
        Value seq = c.batchFirst() ? g.transpose(x, 0, 1) : x; // [T, N, features]
        int steps = seq.shape().dim(0);
        int n = seq.shape().dim(1);
        for (int layer = 0; layer < c.numLayers(); layer++) {
            int in = layer == 0 ? c.inputSize() : dirs * h;
            float[] w = new float[Math.multiplyExact(dirs, Math.multiplyExact(gates * h, in))];
            float[] rec = new float[Math.multiplyExact(dirs, gates * h * h)];
            float[] b = new float[dirs * 2 * gates * h];
            for (int d = 0; d < dirs; d++) {
                String suffix = "_l" + layer + (d == 1 ? "_reverse" : "");
                reorder(params.get("weight_ih" + suffix).toFloatArray(), order, h * in, w, d * gates * h * in);
                reorder(params.get("weight_hh" + suffix).toFloatArray(), order, h * h, rec, d * gates * h * h);
                if (c.bias()) {
                    reorder(params.get("bias_ih" + suffix).toFloatArray(), order, h, b, d * 2 * gates * h);
                    reorder(params.get("bias_hh" + suffix).toFloatArray(), order, h, b, (d * 2 + 1) * gates * h);
                }
            }
            String at = name + "_l" + layer;
            List<String> inputs = new ArrayList<>(List.of(
                    seq.name(),
                    g.floats(at + "_W", w, dirs, gates * h, in),
                    g.floats(at + "_R", rec, dirs, gates * h, h)));
            if (c.bias()) {
                inputs.add(g.floats(at + "_B", b, dirs, 2 * gates * h));
            }
            List<OnnxProto.Attribute> attrs = new ArrayList<>(List.of(
                    intAttr("hidden_size", h), stringAttr("direction", dirs == 2 ? "bidirectional" : "forward")));
            if (!lstm) {
                attrs.add(intAttr("linear_before_reset", 1));
            }
            Value y = g.node(
                    lstm ? "LSTM" : "GRU",
                    at,
                    Shape.of(steps, dirs, n, h),
                    inputs,
                    attrs.toArray(new OnnxProto.Attribute[0]));
            // [T, D, N, H] -> [T, N, D, H] -> [T, N, D * H]: each step's directions side by side, forward first.
            seq = g.reshape(g.permute(y, 0, 2, 1, 3), steps, n, dirs * h);
        }
        return c.batchFirst() ? g.transpose(seq, 0, 1) : seq;
    }

    /** Copies gate blocks of {@code block} floats from {@code src} into {@code dst} at {@code at}, in ONNX's order. */
    private static void reorder(float[] src, int[] order, int block, float[] dst, int at) {
        for (int i = 0; i < order.length; i++) {
            System.arraycopy(src, order[i] * block, dst, at + i * block, block);
        }
    }
}
