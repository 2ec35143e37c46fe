package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.spi.Backend;

/**
 * PyTorch's {@code nn.BatchNorm2d}: {@link BatchNorm} on inputs [N, C, H, W].
 *
 * <p>{@code new BatchNorm2d(16)}
 */
public class BatchNorm2d extends BatchNorm {
    /** PyTorch defaults. */
    public BatchNorm2d(int features) {
        this(Backends.defaultBackend(), Config.of(features));
    }

    /** {@link #BatchNorm2d(Backend, Config)} on {@code device}, the user's handle. */
    public BatchNorm2d(Device device, Config config) {
        this(Backends.of(device), config);
    }

    /** A layer on {@code backend} (SPI level; users pass a Device). */
    public BatchNorm2d(Backend backend, Config config) {
        super(backend, config, "BatchNorm2d", "[N, C, H, W]", 4);
    }
}
