package dev.gradus.examples;

import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.LSTM;
import dev.gradus.nn.Module;
import dev.gradus.nn.Recurrent;
import dev.gradus.onnx.OnnxExportable;
import dev.gradus.onnx.OnnxGraph;

/**
 * Row-by-row MNIST as PyTorch's classic notebook has it: each image a sequence of 28 rows of 28 pixels,
 * {@code LSTM(28, hidden, batch_first=True)} as {@code lstm}, then {@code Linear(hidden, 10)} as {@code head} on the
 * last step's hidden state; parameter names as PyTorch's ({@code lstm.weight_ih_l0}, {@code head.weight}).
 *
 * <p>Shapes: {@code x [N, 1, 28, 28]} (or {@code [N, 28, 28]}) to logits {@code [N, 10]}. Exported to ONNX as
 * its forward: a reshape, ONNX's LSTM, the last step sliced out, the head.
 */
public final class RowLstm extends Module implements OnnxExportable {
    private final LSTM lstm;
    private final Dense head;

    /** The model with {@code hidden} units, PyTorch's initialisation drawn from {@code rng}. */
    public RowLstm(Device device, int hidden, Rng rng) {
        lstm = registerModule(
                "lstm", new LSTM(device, Recurrent.Config.of(28, hidden).withBatchFirst(), rng));
        head = registerModule("head", new Dense(device, hidden, 10, true, Init.PYTORCH, rng));
    }

    @Override
    public Tensor forward(Tensor x) {
        int n = x.shape().dim(0);
        if (x.numel() != n * 28 * 28) {
            throw new IllegalArgumentException("RowLstm: expected images [N, 1, 28, 28], got " + x.shape());
        }
        Tensor steps = lstm.forward(x.reshape(n, 28, 28)); // [N, 28, hidden]
        return head.forward(steps.narrow(1, 27, 1).squeeze(1));
    }

    /** The same steps as {@link #forward}, as ONNX nodes. */
    @Override
    public OnnxGraph.Value toOnnx(OnnxGraph graph, OnnxGraph.Value x, String name) {
        int n = x.shape().dim(0);
        if (x.shape().numel() != n * 28 * 28) {
            throw new IllegalArgumentException("RowLstm: expected images [N, 1, 28, 28], got " + x.shape());
        }
        OnnxGraph.Value steps = graph.module(lstm, graph.reshape(x, n, 28, 28), name + "_lstm");
        return graph.module(head, graph.squeeze(graph.narrow(steps, 1, 27, 1), 1), name + "_head");
    }

    @Override
    public String describe() {
        return "RowLstm";
    }
}
