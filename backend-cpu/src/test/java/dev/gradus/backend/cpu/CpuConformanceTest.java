package dev.gradus.backend.cpu;

import dev.gradus.conformance.BackendConformance;
import dev.gradus.spi.Backend;

/** The shared backend suite on the CPU backend. */
class CpuConformanceTest extends BackendConformance {
    @Override
    protected Backend backend() {
        return CpuBackendProvider.get();
    }
}
