package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Tensor;
import dev.gradus.conformance.BackendConformance;
import dev.gradus.spi.Backend;
import org.junit.jupiter.api.Test;

/**
 * The shared backend suite with every eligible matrix product on oneDNN (what a CNN's Dense layers get once its
 * convolutions ran there), transposed operands and odd shapes included.
 */
class CpuDnnlMatmulConformanceTest extends BackendConformance {
    private static CpuBackend backend;

    @Override
    protected Backend backend() {
        if (backend == null) {
            backend = CpuBackendProvider.get().withMatmulsOnDnnl();
        }
        return backend;
    }

    @Test
    void matrixProductsRunOnDnnl() {
        CpuBackend b = (CpuBackend) backend();
        long before = b.dnnlMatmulCalls();
        // [2, 3] x [4, 3]^T, as a Dense layer's forward takes its weight
        Tensor x = Tensor.of(b, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor w = Tensor.of(b, new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, 4, 3);
        assertArrayEquals(new float[] {1, 2, 3, 6, 4, 5, 6, 15}, x.matmul(w.t()).toFloatArray(), 1e-6f);
        // x^T [3, 2] x [2, 3], as the weight's gradient takes its operands
        assertArrayEquals(
                new float[] {17, 22, 27, 22, 29, 36, 27, 36, 45},
                x.t().matmul(x).toFloatArray(),
                1e-5f);
        assertTrue(b.dnnlMatmulCalls() >= before + 2, "matrix products on oneDNN: " + (b.dnnlMatmulCalls() - before));
    }
}
