package dev.gradus.conformance;

import dev.gradus.spi.Backend;
import dev.gradus.testing.ReferenceBackend;

/** The shared backend suite on the plain Java reference backend: core tests itself without a native backend. */
class ReferenceConformanceTest extends BackendConformance {
    // One instance for the class, as a real backend is one per process: memory counters span the tests.
    private static final ReferenceBackend REFERENCE = new ReferenceBackend();

    @Override
    protected Backend backend() {
        return REFERENCE;
    }
}
