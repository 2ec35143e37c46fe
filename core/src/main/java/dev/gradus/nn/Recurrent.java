package dev.gradus.nn;

import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link LSTM} and {@link GRU} share, as PyTorch's {@code nn.RNNBase}: stacked layers, both directions, the
 * {@code batch_first} layout, dropout between layers, PyTorch's parameter names ({@code weight_ih_l0},
 * {@code weight_hh_l0_reverse}, ...) and initialisation (uniform in {@code +-1/sqrt(hiddenSize)}).
 *
 * <p>Shapes: input {@code [N, T, inputSize]} with {@code batchFirst}, else {@code [T, N, inputSize]}; output the same
 * with {@code D * hiddenSize} features ({@code D} = 2 when bidirectional, the forward direction's first); final
 * states {@code [numLayers * D, N, hiddenSize]}. Each layer's input projection runs for all time steps as one
 * matrix product; the recurrence then runs step by step, composed from tensor ops (their gradients give the
 * backward pass through time). With {@code batchFirst} the output is a transposed view of a time-major result.
 */
public abstract class Recurrent extends Module {
    /** PyTorch's constructor arguments. */
    public record Config(
            int inputSize,
            int hiddenSize,
            int numLayers,
            boolean bias,
            boolean batchFirst,
            float dropout,
            boolean bidirectional) {
        public Config {
            if (inputSize <= 0 || hiddenSize <= 0 || numLayers <= 0) {
                throw new IllegalArgumentException("recurrent layer: sizes must be positive, got input " + inputSize
                        + ", hidden " + hiddenSize + ", layers " + numLayers);
            }
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("recurrent layer: dropout must be in [0, 1), got " + dropout);
            }
        }

        /** One layer, one direction, with biases, time-major ({@code [T, N, in]}) as PyTorch's default. */
        public static Config of(int inputSize, int hiddenSize) {
            return new Config(inputSize, hiddenSize, 1, true, false, 0f, false);
        }

        /** {@code n} stacked layers. */
        public Config withLayers(int n) {
            return new Config(inputSize, hiddenSize, n, bias, batchFirst, dropout, bidirectional);
        }

        /** Input and output as {@code [N, T, features]}. */
        public Config withBatchFirst() {
            return new Config(inputSize, hiddenSize, numLayers, bias, true, dropout, bidirectional);
        }

        /** Both directions, outputs concatenated. */
        public Config withBidirectional() {
            return new Config(inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, true);
        }

        /** Dropout on each layer's output but the last's, in training mode. */
        public Config withDropout(float p) {
            return new Config(inputSize, hiddenSize, numLayers, bias, batchFirst, p, bidirectional);
        }

        /** Without biases. */
        public Config withoutBias() {
            return new Config(inputSize, hiddenSize, numLayers, false, batchFirst, dropout, bidirectional);
        }

        int directions() {
            return bidirectional ? 2 : 1;
        }
    }

    /** The output sequence and the final states ({@code c} null for a GRU). */
    public record State(Tensor output, Tensor h, Tensor c) {}

    /** One direction of one layer's weights. */
    record Cell(Parameter weightIh, Parameter weightHh, Parameter biasIh, Parameter biasHh) {}

    private final Config config;
    private final String name;
    private final int gates;
    private final List<Cell> cells = new ArrayList<>();
    private final Rng dropoutRng;

    Recurrent(Backend backend, Config config, Rng rng, String name, int gates) {
        this.config = config;
        this.name = name;
        this.gates = gates;
        int h = config.hiddenSize();
        // PyTorch: every weight and bias uniform in +-1/sqrt(hiddenSize), i.e. its Linear init with fan-in H.
        for (int layer = 0; layer < config.numLayers(); layer++) {
            int in = layer == 0 ? config.inputSize() : h * config.directions();
            for (int d = 0; d < config.directions(); d++) {
                String suffix = "_l" + layer + (d == 1 ? "_reverse" : "");
                Parameter wIh =
                        registerParameter("weight_ih" + suffix, Init.PYTORCH.weight(backend, rng, h, h, gates * h, in));
                Parameter wHh =
                        registerParameter("weight_hh" + suffix, Init.PYTORCH.weight(backend, rng, h, h, gates * h, h));
                Parameter bIh = null;
                Parameter bHh = null;
                if (config.bias()) {
                    bIh = registerParameter("bias_ih" + suffix, Init.PYTORCH.weight(backend, rng, h, h, gates * h));
                    bHh = registerParameter("bias_hh" + suffix, Init.PYTORCH.weight(backend, rng, h, h, gates * h));
                }
                cells.add(new Cell(wIh, wHh, bIh, bHh));
            }
        }
        dropoutRng = new Rng(rng.nextLong());
    }

    /** The settings. */
    public Config config() {
        return config;
    }

    /** The output sequence (the final states: {@link #forwardWithState}). */
    @Override
    public Tensor forward(Tensor x) {
        return traced(forwardWithState(x, null, null).output());
    }

    /**
     * The output sequence and final states from initial states {@code h0} (and {@code c0} for an LSTM), each
     * {@code [numLayers * D, N, hiddenSize]} or null for zeros.
     */
    public State forwardWithState(Tensor x, Tensor h0, Tensor c0) {
        if (x.shape().rank() != 3 || x.shape().dim(2) != config.inputSize()) {
            throw new IllegalArgumentException(describe() + ": expected input "
                    + (config.batchFirst() ? "[N, T, " : "[T, N, ") + config.inputSize() + "], got " + x.shape());
        }
        // Time-major from here on, [T, N, features]: each step's slice of the input projection is then one
        // contiguous block (a view), not a strided one that each step would copy.
        Tensor seq = config.batchFirst() ? x.transpose(0, 1) : x;
        int steps = seq.shape().dim(0);
        int n = seq.shape().dim(1);
        if (steps == 0) { // as PyTorch, which refuses a sequence length of 0; an empty batch is fine
            throw new IllegalArgumentException(describe() + ": the input " + x.shape() + " has no time steps");
        }
        int h = config.hiddenSize();
        int states = config.numLayers() * config.directions();
        checkState("h0", h0, states, n);
        checkState("c0", c0, states, n);
        List<Tensor> finalH = new ArrayList<>();
        List<Tensor> finalC = new ArrayList<>();
        Tensor layerIn = seq;
        for (int layer = 0; layer < config.numLayers(); layer++) {
            int features = layerIn.shape().dim(2);
            // [T * N, features]: every step's input in one matrix product per direction.
            Tensor flatIn = layerIn.contiguous().reshape(steps * n, features);
            List<Tensor> outputs = new ArrayList<>();
            for (int d = 0; d < config.directions(); d++) {
                int k = layer * config.directions() + d;
                Cell cell = cells.get(k);
                Tensor hState = h0 == null ? null : h0.narrow(0, k, 1).reshape(n, h);
                Tensor cState = c0 == null
                        ? Tensor.zeros(x.backend(), n, h)
                        : c0.narrow(0, k, 1).reshape(n, h);
                Tensor projected = project(cell, flatIn).reshape(steps, n, gates * h); // [T, N, gates * H]
                boolean hiddenBias = cell.biasHh() != null && !hiddenBiasFolds();
                Tensor[] hs = new Tensor[steps];
                for (int s = 0; s < steps; s++) {
                    int t = d == 0 ? s : steps - 1 - s;
                    Tensor xGates = projected.narrow(0, t, 1).reshape(n, gates * h);
                    // A zero initial state contributes nothing: no product for the first step.
                    Tensor hGates = hState == null
                            ? Tensor.zeros(x.backend(), n, gates * h)
                            : hState.matmul(cell.weightHh().t());
                    if (hiddenBias) {
                        hGates = hGates.add(cell.biasHh());
                    }
                    Tensor[] next =
                            step(xGates, hGates, hState == null ? Tensor.zeros(x.backend(), n, h) : hState, cState, h);
                    hState = next[0];
                    cState = next[1];
                    hs[t] = hState;
                }
                outputs.add(Tensor.stack(List.of(hs), 0));
                finalH.add(hState);
                finalC.add(cState);
            }
            Tensor out = outputs.size() == 1 ? outputs.get(0) : Tensor.cat(outputs, 2);
            if (config.dropout() > 0 && layer < config.numLayers() - 1) {
                out = Functional.dropout(out, config.dropout(), isTraining(), dropoutRng);
            }
            layerIn = out;
        }
        Tensor output = config.batchFirst() ? layerIn.transpose(0, 1) : layerIn;
        Tensor hn = Tensor.stack(finalH, 0);
        Tensor cn = hasCellState() ? Tensor.stack(finalC, 0) : null;
        return new State(output, hn, cn);
    }

    /**
     * The input's share of every gate for all steps at once, {@code [T * N, gates * H]} from {@code [T * N, in]}:
     * one matrix product, plus the input bias, plus the hidden bias where it {@link #hiddenBiasFolds folds}.
     */
    private Tensor project(Cell cell, Tensor flatIn) {
        Tensor projected = flatIn.matmul(cell.weightIh().t());
        Tensor bias = cell.biasIh();
        if (bias != null && hiddenBiasFolds()) {
            bias = bias.add(cell.biasHh());
        }
        return bias == null ? projected : projected.add(bias);
    }

    /**
     * True where the hidden share's bias only ever adds to the input's (an LSTM: {@code W_ih x + b_ih + W_hh h + b_hh}),
     * so it joins the input projection once instead of an add per step; false for a GRU, whose {@code b_hn} is
     * multiplied by the reset gate.
     */
    abstract boolean hiddenBiasFolds();

    /**
     * One time step: from the gates' input and hidden shares ({@code [N, gates * H]} each, biases added) and the
     * states {@code [N, H]}, the next hidden state and (for an LSTM) cell state.
     */
    abstract Tensor[] step(Tensor xGates, Tensor hGates, Tensor h, Tensor c, int hidden);

    /** True for an LSTM (a cell state besides the hidden one). */
    abstract boolean hasCellState();

    private void checkState(String what, Tensor s, int states, int n) {
        if (s != null && !s.shape().equals(dev.gradus.Shape.of(states, n, config.hiddenSize()))) {
            throw new IllegalArgumentException(describe() + ": " + what + " must be [" + states + ", " + n + ", "
                    + config.hiddenSize() + "], got " + s.shape());
        }
    }

    @Override
    public String describe() {
        return name + "(" + config.inputSize() + ", " + config.hiddenSize()
                + (config.numLayers() != 1 ? ", num_layers=" + config.numLayers() : "")
                + (config.bias() ? "" : ", bias=False")
                + (config.batchFirst() ? ", batch_first=True" : "")
                + (config.dropout() != 0 ? ", dropout=" + config.dropout() : "")
                + (config.bidirectional() ? ", bidirectional=True" : "") + ")";
    }
}
