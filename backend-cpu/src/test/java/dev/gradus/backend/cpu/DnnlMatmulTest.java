package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** oneDNN's matmul (kept for MatmulBenchmark's comparison) against a double-precision reference, odd shapes too. */
class DnnlMatmulTest {
    @Test
    void matchesReference() {
        CpuBackend be = CpuBackendProvider.get();
        Assumptions.assumeTrue(be.describe().get("convolution").startsWith("oneDNN"), "oneDNN is not loaded here");
        for (int[] s : new int[][] {{7, 13, 5}, {1, 1, 1}, {128, 784, 48}}) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            try (Scope sc = Scope.open()) {
                Rng rng = new Rng(5);
                Tensor a = Tensor.uniform(rng, -1, 1, m, k);
                Tensor b = Tensor.uniform(rng, -1, 1, k, n);
                Tensor c = Tensor.full(be, 0f, m, n);
                assertTrue(be.rawDnnlMatmul(
                        a.operand().storage(),
                        b.operand().storage(),
                        c.operand().storage(),
                        m,
                        n,
                        k));
                float[] av = a.toFloatArray();
                float[] bv = b.toFloatArray();
                float[] cv = c.toFloatArray();
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double want = 0;
                        for (int t = 0; t < k; t++) {
                            want += (double) av[i * k + t] * bv[t * n + j];
                        }
                        assertEquals(
                                want,
                                cv[i * n + j],
                                1e-4 * Math.max(1, Math.abs(want)),
                                m + "x" + k + "x" + n + " at " + i + "," + j);
                    }
                }
            }
        }
    }
}
