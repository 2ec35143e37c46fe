package dev.gradus.benchmarks;

import dev.gradus.Backends;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.spi.Backend;

/** Backend names the benchmarks take as {@code -p backend=...}. */
final class Benchmarks {
    private Benchmarks() {}

    /**
     * {@code cpu} (oneDNN for convolution, pooling and batch norm, where it loads), {@code cpu-im2col} (the same
     * backend without oneDNN: im2col and OpenBLAS, Java kernels), or any registered backend such as {@code cuda}.
     */
    static Backend backend(String name) {
        return name.equals("cpu-im2col") ? CpuBackendProvider.im2colBackend() : Backends.get(name);
    }
}
