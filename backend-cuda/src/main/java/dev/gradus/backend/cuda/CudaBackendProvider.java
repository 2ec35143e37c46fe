package dev.gradus.backend.cuda;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BackendProvider;
import java.util.Optional;

/**
 * Registers the CUDA backend with {@link java.util.ServiceLoader} and finds out whether it can run here: whether
 * the CUDA 13 runtime loads, and whether a driver and a device answer.
 *
 * <p>The backend has not yet run on a GPU, so even on a machine with one the provider reports itself unavailable
 * (saying what it found) unless {@code -Dgradus.cuda.experimental=true}; the default selection then falls back to
 * the CPU with one log line. {@code -Dgradus.cuda.tf32=true} lets cuBLAS use TF32 tensor cores (off by default:
 * float32 results then differ from the CPU's in the fourth digit).
 */
public final class CudaBackendProvider implements BackendProvider {
    static final String NOT_VERIFIED = "the CUDA backend has not yet passed its conformance suite on a GPU, so it is"
            + " off unless -Dgradus.cuda.experimental=true (or GRADUS_CUDA_EXPERIMENTAL=1)";

    private static final Object LOCK = new Object();
    private static volatile CudaBackend instance;
    private static volatile String failure;

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

    /** True when the user opted in to the backend before it is verified on a GPU. */
    static boolean experimental() {
        return Boolean.getBoolean("gradus.cuda.experimental") || "1".equals(System.getenv("GRADUS_CUDA_EXPERIMENTAL"));
    }

    @Override
    public Availability availability() {
        CudaProbe.Result r = CudaProbe.run(); // cached: the natives load once per process
        if (!r.usable()) {
            return Availability.unavailable(r.problem());
        }
        if (!experimental()) {
            return Availability.unavailable(r.summary() + ", but " + NOT_VERIFIED);
        }
        start();
        return instance != null
                ? Availability.ok()
                : Availability.unavailable(r.summary() + ", but the backend failed to start: " + failure);
    }

    private static void start() {
        if (instance != null || failure != null) {
            return;
        }
        synchronized (LOCK) {
            if (instance != null || failure != null) {
                return;
            }
            try {
                instance = new CudaBackend(0, Boolean.getBoolean("gradus.cuda.tf32"));
            } catch (RuntimeException | LinkageError e) {
                failure = e.getMessage() == null
                        ? e.toString()
                        : e.getMessage().lines().findFirst().orElse("");
            }
        }
    }

    @Override
    public Backend backend() {
        Availability a = availability();
        if (!a.available()) {
            throw new IllegalStateException("Gradus backend 'cuda' is not usable: " + a.reason());
        }
        return instance;
    }

    @Override
    public Optional<Backend> started() {
        return Optional.ofNullable(instance);
    }
}
