package dev.gradus.nn;

import dev.gradus.Backends;
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

    /** A layer on {@code backend}. */
    public BatchNorm1d(Backend backend, Config config) {
        super(backend, config, "BatchNorm1d", "[N, C] or [N, C, L]", 2, 3);
    }
}
