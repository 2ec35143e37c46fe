package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.ops.LstmCell;
import dev.gradus.spi.Backend;

/**
 * Long short-term memory, as PyTorch's {@code nn.LSTM}: gates in PyTorch's order (input, forget, cell, output),
 * {@code c' = f * c + i * g}, {@code h' = o * tanh(c')}; parameters {@code weight_ih_l0 [4H, in]},
 * {@code weight_hh_l0 [4H, H]}, {@code bias_ih_l0}, {@code bias_hh_l0} (and {@code _reverse}, {@code _l1}, ...).
 *
 * <p>Shapes and settings: {@link Recurrent}. {@link #forward} returns the output sequence; the final {@code h}
 * and {@code c} come from {@link #forwardWithState}.
 *
 * <pre>{@code
 * LSTM lstm = new LSTM(Recurrent.Config.of(28, 128).withBatchFirst());
 * Tensor out = lstm.forward(x);                     // [N, 28, 28] -> [N, 28, 128]
 * Tensor last = out.narrow(1, 27, 1).squeeze(1);    // [N, 128]
 * }</pre>
 */
public class LSTM extends Recurrent {
    /** On the default backend, seeded from the process-wide stream. */
    public LSTM(Config config) {
        this(Backends.defaultBackend(), config, Rng.fromGlobal());
    }

    /** {@link #LSTM(Backend, Config, Rng)} on {@code device}, the user's handle. */
    public LSTM(Device device, Config config, Rng rng) {
        this(Backends.of(device), config, rng);
    }

    /** On {@code backend} (SPI level; users pass a Device), initialised from {@code rng}. */
    public LSTM(Backend backend, Config config, Rng rng) {
        super(backend, config, rng, "LSTM", 4);
    }

    @Override
    Tensor[] step(Tensor xGates, Tensor hGates, Tensor h, Tensor c, int hidden) {
        // One fused op forward and one backward (LstmCell), not ten and twenty small ones.
        return LstmCell.step(xGates, hGates, c);
    }

    @Override
    boolean hiddenBiasFolds() {
        return true;
    }

    @Override
    boolean hasCellState() {
        return true;
    }
}
