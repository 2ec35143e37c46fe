package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradus.Shape;
import dev.gradus.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Matrix products against a plain double reference: odd and round sizes, the many-row products a backend may route
 * elsewhere, transposed operands (BLAS's trans flags), batches with and without a broadcast operand, matrix-vector
 * and vector-matrix, and a strided view with no unit stride, within 1e-4 (GEMM reorders sums). Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface MatmulConformance extends SuiteHelpers {
    private static float[] refMatmul(float[] a, float[] b, int batch, int m, int k, int n, boolean bBroadcast) {
        float[] out = new float[batch * m * n];
        for (int p = 0; p < batch; p++) {
            int bo = bBroadcast ? 0 : p * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int q = 0; q < k; q++) {
                        acc += (double) a[p * m * k + i * k + q] * b[bo + q * n + j];
                    }
                    out[p * m * n + i * n + j] = (float) acc;
                }
            }
        }
        return out;
    }

    @Test
    default void matmulMatchesReference() {
        // {1000, 784, 48} and {513, 7, 3}: the many-row products (inference batches) a backend may route elsewhere
        int[][] sizes = {
            {7, 13, 5},
            {64, 64, 64},
            {1, 9, 1},
            {3, 1, 4},
            {128, 784, 48},
            {33, 17, 65},
            {1000, 784, 48},
            {513, 7, 3},
            {600, 1, 5}
        };
        for (int[] s : sizes) {
            Tensor a = rand(-1, 1, s[0], s[1]);
            Tensor b = rand(-1, 1, s[1], s[2]);
            assertClose(
                    refMatmul(a.toFloatArray(), b.toFloatArray(), 1, s[0], s[1], s[2], false),
                    a.matmul(b).toFloatArray(),
                    1e-4,
                    "matmul " + Arrays.toString(s));
            // the same product through transposed views (BLAS trans flags)
            Tensor at = a.t().contiguous().t();
            Tensor bt = b.t().contiguous().t();
            assertClose(
                    refMatmul(a.toFloatArray(), b.toFloatArray(), 1, s[0], s[1], s[2], false),
                    at.matmul(bt).toFloatArray(),
                    1e-4,
                    "matmul of transposed views " + Arrays.toString(s));
            assertClose(
                    refMatmul(a.toFloatArray(), b.toFloatArray(), 1, s[0], s[1], s[2], false),
                    a.matmul(bt).toFloatArray(),
                    1e-4,
                    "matmul by a transposed view (a Dense weight) " + Arrays.toString(s));
            assertClose(
                    refMatmul(a.toFloatArray(), b.toFloatArray(), 1, s[0], s[1], s[2], false),
                    at.matmul(b).toFloatArray(),
                    1e-4,
                    "matmul of a transposed view " + Arrays.toString(s));
        }
    }

    @Test
    default void matmulBatchedAndVectors() {
        Tensor a = rand(-1, 1, 2, 3, 4);
        Tensor b = rand(-1, 1, 2, 4, 5);
        assertClose(
                refMatmul(a.toFloatArray(), b.toFloatArray(), 2, 3, 4, 5, false),
                a.matmul(b).toFloatArray(),
                1e-4,
                "batched matmul");
        Tensor b2 = rand(-1, 1, 4, 5);
        Tensor y = a.matmul(b2);
        assertEquals(Shape.of(2, 3, 5), y.shape());
        assertClose(
                refMatmul(a.toFloatArray(), b2.toFloatArray(), 2, 3, 4, 5, true),
                y.toFloatArray(),
                1e-4,
                "matmul with broadcast batch");
        Tensor v = rand(-1, 1, 4);
        Tensor mv = b2.t().matmul(v);
        assertEquals(Shape.of(5), mv.shape());
        assertClose(
                refMatmul(b2.t().contiguous().toFloatArray(), v.toFloatArray(), 1, 5, 4, 1, false),
                mv.toFloatArray(),
                1e-4,
                "matrix-vector");
        Tensor vm = v.matmul(b2);
        assertEquals(Shape.of(5), vm.shape());
        assertClose(
                refMatmul(v.toFloatArray(), b2.toFloatArray(), 1, 1, 4, 5, false),
                vm.toFloatArray(),
                1e-4,
                "vector-matrix");
    }

    @Test
    default void matmulOfNonBlasLayoutCopies() {
        // a narrowed column block of a transposed tensor has neither unit stride
        Tensor base = rand(-1, 1, 6, 8, 2);
        Tensor odd = base.transpose(0, 2).narrow(0, 1, 1).reshape(8, 6).t();
        Tensor b = rand(-1, 1, 8, 3);
        assertClose(
                refMatmul(odd.contiguous().toFloatArray(), b.toFloatArray(), 1, 6, 8, 3, false),
                odd.matmul(b).toFloatArray(),
                1e-4,
                "matmul of a strided view");
    }
}
