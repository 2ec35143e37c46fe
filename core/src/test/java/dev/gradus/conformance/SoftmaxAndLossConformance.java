package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.assertClose;
import static dev.gradus.conformance.BackendConformance.refLogSoftmax;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Tensor;
import org.junit.jupiter.api.Test;

/**
 * {@code softmax} and {@code logSoftmax} against a stable reference (large logits, axis 0 through a transpose), and
 * cross-entropy with integer labels and with one-hot targets against the reference, a huge margin staying finite and
 * a bad label named. Part of {@link BackendConformance}, so every backend runs it.
 */
interface SoftmaxAndLossConformance extends SuiteHelpers {
    @Test
    default void logSoftmaxAndSoftmaxMatchReferenceAndStayStable() {
        for (int[] shape : new int[][] {{4, 10}, {3, 7}, {1, 1}}) {
            Tensor x = rand(-5, 5, shape);
            float[] xv = x.toFloatArray();
            int cols = shape[1];
            double[] logp = refLogSoftmax(xv, shape[0], cols);
            float[] expected = new float[xv.length];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = (float) logp[i];
            }
            assertClose(expected, x.logSoftmax(-1).toFloatArray(), 1e-5, "logSoftmax");
            float[] sm = x.softmax(1).toFloatArray();
            for (int i = 0; i < sm.length; i++) {
                assertEquals(Math.exp(expected[i]), sm[i], 1e-6);
            }
        }
        float[] big = t(new float[] {1000f, 1000f, -1000f}, 1, 3).logSoftmax(1).toFloatArray();
        assertClose(
                new float[] {(float) -Math.log(2), (float) -Math.log(2), -2000f - (float) Math.log(2)},
                big,
                1e-5,
                "logSoftmax of large logits");
        // axis 0 goes through a transpose
        Tensor x = rand(-1, 1, 3, 4);
        assertClose(
                x.t().logSoftmax(1).t().contiguous().toFloatArray(),
                x.logSoftmax(0).toFloatArray(),
                1e-6,
                "logSoftmax on axis 0");
    }

    @Test
    default void crossEntropyWithLabelsAndOneHot() {
        Tensor logits = rand(-3, 3, 5, 4);
        int[] y = {0, 3, 1, 1, 2};
        float[] lv = logits.toFloatArray();
        double expected = 0;
        float[] onehot = new float[20];
        for (int r = 0; r < 5; r++) {
            double mx = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < 4; c++) {
                mx = Math.max(mx, lv[r * 4 + c]);
            }
            double s = 0;
            for (int c = 0; c < 4; c++) {
                s += Math.exp(lv[r * 4 + c] - mx);
            }
            expected -= lv[r * 4 + y[r]] - mx - Math.log(s);
            onehot[r * 4 + y[r]] = 1;
        }
        expected /= 5;
        assertEquals(
                expected,
                logits.crossEntropy(Tensor.ofInts(suiteBackend(), y, 5)).item(),
                1e-5);
        assertEquals(expected, logits.crossEntropy(t(onehot, 5, 4)).item(), 1e-5);
        float huge = t(new float[] {1e4f, -1e4f}, 1, 2)
                .crossEntropy(Tensor.ofInts(suiteBackend(), new int[] {1}, 1))
                .item();
        assertEquals(2e4f, huge, 1f);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> logits.crossEntropy(Tensor.ofInts(suiteBackend(), new int[] {0, 3, 4, 1, 2}, 5)));
        assertTrue(e.getMessage().contains("label 4 at index 2"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> logits.crossEntropy(Tensor.ofInts(suiteBackend(), new int[] {0, 1}, 2)));
    }
}
