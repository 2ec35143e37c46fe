package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.gradus.spi.Layout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The mapping of row-major, transposed and batched matmuls onto column-major cuBLAS calls, executed by a Java
 * emulation of {@code cublasSgemm} and compared with a plain strided reference.
 */
class GemmPlanTest {
    /** cuBLAS semantics: column-major {@code C = op(A) op(B)}, {@code op(A)} m x k, {@code op(B)} k x n. */
    static void sgemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float[] a,
            long aOff,
            int lda,
            float[] b,
            long bOff,
            int ldb,
            float[] c,
            long cOff,
            int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[(int) (aOff + p + (long) i * lda)] : a[(int) (aOff + i + (long) p * lda)];
                    float bv = transB ? b[(int) (bOff + j + (long) p * ldb)] : b[(int) (bOff + p + (long) j * ldb)];
                    acc += (double) av * bv;
                }
                c[(int) (cOff + i + (long) j * ldc)] = (float) acc;
            }
        }
    }

    private static float at(float[] s, Layout l, int... idx) {
        long o = l.offset();
        for (int d = 0; d < idx.length; d++) {
            o += (long) idx[d] * l.strides()[d];
        }
        return s[(int) o];
    }

    private static void check(Layout a, Layout b, int batch, int m, int k, int n) {
        Random rnd = new Random(m * 31 + n);
        float[] as = new float[1 << 12];
        float[] bs = new float[1 << 12];
        for (int i = 0; i < as.length; i++) {
            as[i] = (float) rnd.nextGaussian();
            bs[i] = (float) rnd.nextGaussian();
        }
        Layout out = batch == 0 ? Layout.contiguous(m, n) : Layout.contiguous(batch, m, n);
        float[] got = new float[out.numel()];
        GemmPlan p = GemmPlan.of(a, b, out);
        assertNotNull(p, a + " x " + b);
        for (int bi = 0; bi < p.outOffsets().length; bi++) {
            // exactly the call CudaBackend.matmul makes: b first
            sgemm(
                    p.transFirst(),
                    p.transSecond(),
                    p.n(),
                    p.m(),
                    p.k(),
                    bs,
                    p.bOffsets()[bi],
                    p.ldFirst(),
                    as,
                    p.aOffsets()[bi],
                    p.ldSecond(),
                    got,
                    p.outOffsets()[bi],
                    p.ldOut());
        }
        for (int bi = 0; bi < Math.max(1, batch); bi++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int q = 0; q < k; q++) {
                        acc += batch == 0
                                ? (double) at(as, a, i, q) * at(bs, b, q, j)
                                : (double) at(as, a, bi, i, q) * at(bs, b, bi, q, j);
                    }
                    float g = got[(bi * m + i) * n + j];
                    assertEquals(
                            acc,
                            g,
                            1e-4 * Math.max(1, Math.abs(acc)),
                            "batch " + bi + " (" + i + ", " + j + ") of " + a + " x " + b);
                }
            }
        }
    }

    @Test
    void plainTransposedAndBatchedProductsMatchTheReference() {
        // a [5, 7] x b [7, 3], dense with offsets
        check(
                new Layout(new int[] {5, 7}, new int[] {7, 1}, 2),
                new Layout(new int[] {7, 3}, new int[] {3, 1}, 11),
                0,
                5,
                7,
                3);
        // a as the transposed view of a dense [7, 5]; b as the transposed view of a dense [3, 7]
        check(
                new Layout(new int[] {5, 7}, new int[] {1, 5}, 0),
                new Layout(new int[] {7, 3}, new int[] {1, 7}, 4),
                0,
                5,
                7,
                3);
        // a row slice of a wider matrix (leading dimension 10 > 7)
        check(new Layout(new int[] {5, 7}, new int[] {10, 1}, 3), Layout.contiguous(7, 3), 0, 5, 7, 3);
        // batched [4, 5, 7] x b broadcast over the batch (stride 0), and a batched transposed b
        check(Layout.contiguous(4, 5, 7), new Layout(new int[] {4, 7, 3}, new int[] {0, 3, 1}, 0), 4, 5, 7, 3);
        check(Layout.contiguous(4, 5, 7), new Layout(new int[] {4, 7, 3}, new int[] {21, 1, 7}, 1), 4, 5, 7, 3);
        // vectors: M = 1 and N = 1
        check(Layout.contiguous(1, 7), Layout.contiguous(7, 1), 0, 1, 7, 1);
    }

    @Test
    void viewsCuBlasCannotTakeAskForACopy() {
        // every other column: neither stride is 1
        assertNull(GemmPlan.of(
                new Layout(new int[] {5, 7}, new int[] {14, 2}, 0), Layout.contiguous(7, 3), Layout.contiguous(5, 3)));
    }
}
