package dev.gradus.benchmarks;

import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.examples.BnCnnCommand;
import dev.gradus.examples.CnnCommand;
import dev.gradus.examples.Models;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;

/** Backend names the benchmarks take as {@code -p backend=...}, and the examples' models they run. */
final class Benchmarks {
    private Benchmarks() {}

    /**
     * {@code cpu} (oneDNN for convolution, pooling and batch norm, where it loads), {@code cpu-im2col} (the same
     * backend without oneDNN: im2col and OpenBLAS, Java kernels), or any registered backend such as {@code cuda}.
     */
    static Backend backend(String name) {
        return name.equals("cpu-im2col") ? CpuBackendProvider.im2colBackend() : Backends.get(name);
    }

    /**
     * An example's model as the example builds it, freshly initialised: {@code mlp} (784-48-10), {@code fashion-mlp}
     * (784-20-10), {@code cnn} or {@code bn-cnn}.
     */
    static Sequential exampleModel(String name, Backend backend, Rng rng) {
        return switch (name) {
            case "mlp" -> Models.mlp(backend, new int[] {48}, 0f, rng);
            case "fashion-mlp" -> Models.mlp(backend, new int[] {20}, 0f, rng);
            case "cnn" -> CnnCommand.model(backend, rng);
            case "bn-cnn" -> BnCnnCommand.model(backend, rng);
            default -> throw new IllegalArgumentException("unknown example model '" + name + "'");
        };
    }
}
