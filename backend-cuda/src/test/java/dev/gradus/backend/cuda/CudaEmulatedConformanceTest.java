package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradus.Backends;
import dev.gradus.conformance.BackendConformance;
import dev.gradus.spi.Backend;

/**
 * The shared backend suite on the real CUDA backend over the {@link CudaEmulator}: the backend's Java code and
 * kernel sources against the same references as the CPU backend, on a machine without a GPU. A pass here is not a
 * pass on a GPU (see CudaConformanceTest); it means the backend's own logic is right. Skips with the reason when
 * the emulator cannot be built (no g++, no NVRTC, or a real driver is present).
 */
class CudaEmulatedConformanceTest extends BackendConformance {
    @Override
    protected Backend backend() {
        String problem = CudaEmulator.prepare();
        assumeTrue(problem == null, () -> "the CUDA emulator is not available: " + problem);
        Backends.Info info = Backends.list().stream()
                .filter(i -> i.name().equals("cuda"))
                .findFirst()
                .orElseThrow();
        if (!info.available()) {
            throw new AssertionError("the CUDA backend did not start on the emulator: " + info.reason());
        }
        return Backends.get("cuda");
    }
}
