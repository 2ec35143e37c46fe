package dev.gradus.backend.cuda;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BackendProvider;

/**
 * Registers the CUDA backend with {@link java.util.ServiceLoader} and finds out whether it can run here: whether
 * the CUDA 13 runtime loads, and whether a driver and a device answer.
 *
 * <p>This release has no CUDA kernels yet, so even on a machine with a GPU the provider reports itself unavailable
 * (saying what it found); the default selection then falls back to the CPU with one log line.
 */
public final class CudaBackendProvider implements BackendProvider {
    static final String NOT_IMPLEMENTED = "the CUDA backend's kernels are not implemented in this Gradus release;"
            + " use the cpu backend";

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public String artifact() {
        return "dev.gradus:gradus-backend-cuda";
    }

    @Override
    public Availability availability() {
        CudaProbe.Result r = CudaProbe.run(); // cached: the natives load once per process
        if (!r.usable()) {
            return Availability.unavailable(r.problem());
        }
        return Availability.unavailable(r.summary() + ", but " + NOT_IMPLEMENTED);
    }

    @Override
    public Backend backend() {
        throw new IllegalStateException("Gradus backend 'cuda' is not usable: " + availability().reason());
    }
}
