package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradus.Backends;
import dev.gradus.conformance.BackendConformance;
import dev.gradus.spi.Backend;

/**
 * The shared backend suite on the CUDA backend, against the same Java references as the CPU backend (tolerances
 * as stated in {@link BackendConformance}). Runs only where a GPU answers and the backend is switched on with
 * {@code -Dgradus.cuda.experimental=true}; elsewhere every test is skipped with the probe's reason.
 */
class CudaConformanceTest extends BackendConformance {
    private static volatile boolean told;

    @Override
    protected Backend backend() {
        Backends.Info info = Backends.list().stream()
                .filter(i -> i.name().equals("cuda"))
                .findFirst()
                .orElseThrow();
        if (!info.available() && !told) {
            told = true;
            System.out.println("CudaConformanceTest skipped: no usable CUDA backend here: " + info.reason());
        }
        assumeTrue(info.available(), "no usable CUDA backend here: " + info.reason());
        return Backends.get("cuda");
    }
}
