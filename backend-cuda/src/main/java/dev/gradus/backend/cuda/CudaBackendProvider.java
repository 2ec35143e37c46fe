package dev.gradus.backend.cuda;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BackendProvider;

/**
 * Registers the CUDA backend with {@link java.util.ServiceLoader}.
 *
 * <p>This release ships no CUDA kernels yet: the provider is discovered, always reports itself unavailable with
 * that reason, and the default selection falls back to the CPU.
 */
public final class CudaBackendProvider implements BackendProvider {
    static final String REASON = "the CUDA backend is not implemented in this Gradus release"
            + " (planned: cuBLAS/cuDNN through org.bytedeco:cuda 13.1-9.19-1.5.13); use the cpu backend";

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
        return Availability.unavailable(REASON);
    }

    @Override
    public Backend backend() {
        throw new IllegalStateException("Gradus backend 'cuda' is not usable: " + REASON);
    }
}
