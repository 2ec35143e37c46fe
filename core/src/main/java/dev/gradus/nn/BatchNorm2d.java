package dev.gradus.nn;

import dev.gradus.Backends;
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

    /** A layer on {@code backend}. */
    public BatchNorm2d(Backend backend, Config config) {
        super(backend, config, "BatchNorm2d", "[N, C, H, W]", 4);
    }
}
