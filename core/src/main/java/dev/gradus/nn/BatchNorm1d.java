package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.spi.Backend;

/**
 * PyTorch's {@code nn.BatchNorm1d}: {@link BatchNorm} on inputs [N, C] or [N, C, L].
 *
 * <p>{@code new BatchNorm1d(16)}
 */
public class BatchNorm1d extends BatchNorm {
    /** PyTorch defaults. */
    public BatchNorm1d(int features) {
        this(Backends.defaultBackend(), Config.of(features));
    }

    /** {@link #BatchNorm1d(Backend, Config)} on {@code device}, the user's handle. */
    public BatchNorm1d(Device device, Config config) {
        this(Backends.of(device), config);
    }

    /** A layer on {@code backend} (SPI level; users pass a Device). */
    public BatchNorm1d(Backend backend, Config config) {
        super(backend, config, "BatchNorm1d", "[N, C] or [N, C, L]", 2, 3);
    }
}
