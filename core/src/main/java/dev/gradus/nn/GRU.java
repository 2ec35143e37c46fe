package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.ops.GruCell;
import dev.gradus.spi.Backend;

/**
 * Gated recurrent unit, as PyTorch's {@code nn.GRU}: gates in PyTorch's order (reset, update, new),
 * {@code n = tanh(W_in x + b_in + r * (W_hn h + b_hn))}, {@code h' = (1 - z) * n + z * h}; parameters
 * {@code weight_ih_l0 [3H, in]}, {@code weight_hh_l0 [3H, H]}, {@code bias_ih_l0}, {@code bias_hh_l0}.
 *
 * <p>Shapes and settings: {@link Recurrent}; {@link #forwardWithState} gives the final {@code h} ({@code c} null).
 *
 * <pre>{@code GRU gru = new GRU(Recurrent.Config.of(16, 32).withBatchFirst().withBidirectional());  // [N, T, 16] -> [N, T, 64]}</pre>
 */
public class GRU extends Recurrent {
    /** On the default backend, seeded from the process-wide stream. */
    public GRU(Config config) {
        this(Backends.defaultBackend(), config, Rng.fromGlobal());
    }

    /** {@link #GRU(Backend, Config, Rng)} on {@code device}, the user's handle. */
    public GRU(Device device, Config config, Rng rng) {
        this(Backends.of(device), config, rng);
    }

    /** On {@code backend} (SPI level; users pass a Device), initialised from {@code rng}. */
    public GRU(Backend backend, Config config, Rng rng) {
        super(backend, config, rng, "GRU", 3);
    }

    @Override
    Tensor[] step(Tensor xGates, Tensor hGates, Tensor h, Tensor c, int hidden) {
        // One fused op forward and one backward (GruCell), not eleven and about twenty small ones.
        return new Tensor[] {GruCell.step(xGates, hGates, h), c};
    }

    @Override
    boolean hiddenBiasFolds() {
        return false;
    }

    @Override
    boolean hasCellState() {
        return false;
    }
}
