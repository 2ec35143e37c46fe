package dev.gradus.backend.cpu;

import dev.gradus.conformance.BackendConformance;
import dev.gradus.spi.Backend;

/** The shared backend suite on the CPU backend without oneDNN: the fallback path where its natives do not load. */
class CpuIm2colConformanceTest extends BackendConformance {
    private static CpuBackend backend;

    @Override
    protected Backend backend() {
        if (backend == null) {
            backend = CpuBackendProvider.im2colBackend();
        }
        return backend;
    }
}
