package dev.gradus.spi;

import dev.gradus.DType;

/**
 * A block of backend memory: native memory for the CPU backend, device memory for CUDA.
 *
 * <p>Core never looks inside; it passes storages back to the backend that made them.
 */
public interface Storage {
    /** Element type the block was allocated for. */
    DType dtype();

    /** Capacity in elements. */
    int numel();

    /** Capacity in bytes. */
    default long bytes() {
        return (long) numel() * dtype().bytes();
    }
}
