package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.assertClose;
import static dev.gradus.conformance.BackendConformance.grads;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradus.Functional;
import dev.gradus.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Batch norm against a double reference: training mode (batch statistics, running mean and unbiased running variance
 * updated) and evaluation mode (running statistics), both against finite differences, and larger shapes (many
 * images, many channels, planes of 1, 9 and 400) against a double reference of the forward pass and of the
 * gradients. Part of {@link BackendConformance}, so every backend runs it.
 */
interface BatchNormConformance extends SuiteHelpers {
    /** Mean and biased variance of channel {@code ch} of NC(HW) data, in double, two passes. */
    private static double[] refMoments(float[] xv, int n, int c, int hw, int ch) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < hw; j++) {
                sum += xv[(i * c + ch) * hw + j];
            }
        }
        double mean = sum / ((double) n * hw);
        double var = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < hw; j++) {
                double d = xv[(i * c + ch) * hw + j] - mean;
                var += d * d;
            }
        }
        return new double[] {mean, var / ((double) n * hw)};
    }

    @Test
    default void batchNormTrainingMatchesReferenceAndUpdatesRunningStats() {
        for (int[] xs : new int[][] {{4, 3, 5, 5}, {6, 4}, {1, 2, 3, 3}, {5, 3, 1, 1}}) {
            Tensor x = rand(-2, 3, xs);
            int c = xs[1];
            Tensor gamma = rand(0.5f, 1.5f, c);
            Tensor beta = rand(-1, 1, c);
            Tensor rm = Tensor.full(suiteBackend(), 0f, c);
            Tensor rv = Tensor.full(suiteBackend(), 1f, c);
            Tensor y = Functional.batchNorm(x, gamma, beta, rm, rv, true, 0.1f, 1e-5f);
            float[] xv = x.toFloatArray();
            int n = xs[0];
            int hw = xv.length / (n * c);
            float[] expected = new float[xv.length];
            float[] gv = gamma.toFloatArray();
            float[] bv = beta.toFloatArray();
            float[] expRm = new float[c];
            float[] expRv = new float[c];
            for (int ch = 0; ch < c; ch++) {
                double m = (double) n * hw;
                double[] mv = refMoments(xv, n, c, hw, ch);
                double mean = mv[0];
                double var = mv[1];
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < hw; j++) {
                        int at = (i * c + ch) * hw + j;
                        expected[at] = (float) ((xv[at] - mean) / Math.sqrt(var + 1e-5) * gv[ch] + bv[ch]);
                    }
                }
                expRm[ch] = (float) (0.1 * mean);
                expRv[ch] = (float) (0.9 + 0.1 * var * m / (m - 1));
            }
            String what = "batchNorm " + Arrays.toString(xs);
            assertClose(expected, y.toFloatArray(), 1e-4, what);
            assertClose(expRm, rm.toFloatArray(), 1e-5, what + " running mean");
            assertClose(expRv, rv.toFloatArray(), 1e-5, what + " running var");
            gradCheck(
                    what,
                    a -> Functional.batchNorm(a[0], a[1], a[2], null, null, true, 0.1f, 1e-5f),
                    t(x.toFloatArray(), xs),
                    gamma,
                    beta);
            // evaluation mode uses the running statistics and is differentiable too
            float[] ev = Functional.batchNorm(x, gamma, beta, rm, rv, false, 0.1f, 1e-5f)
                    .toFloatArray();
            float[] rmv = rm.toFloatArray();
            float[] rvv = rv.toFloatArray();
            float[] expEval = new float[xv.length];
            for (int i = 0; i < xv.length; i++) {
                int ch = (i / hw) % c;
                expEval[i] = (float) ((xv[i] - rmv[ch]) / Math.sqrt(rvv[ch] + 1e-5) * gv[ch] + bv[ch]);
            }
            assertClose(expEval, ev, 1e-5, what + " eval");
            gradCheck(
                    what + " eval",
                    a -> Functional.batchNorm(a[0], a[1], a[2], rm, rv, false, 0.1f, 1e-5f),
                    t(x.toFloatArray(), xs),
                    t(gamma.toFloatArray(), c),
                    t(beta.toFloatArray(), c));
        }
        assertThrows(
                IllegalArgumentException.class,
                () -> Functional.batchNorm(rand(0, 1, 1, 3), null, null, null, null, true, 0.1f, 1e-5f));
    }

    /**
     * Batch norm on larger shapes than the finite-difference test affords (more images than a backend sums in one
     * float block, channels split over threads, planes of 1, 9 and 400), against a double-precision reference of
     * the forward pass and of the gradients for a fixed {@code dOut}.
     */
    @Test
    default void batchNormLargeShapesMatchDoubleReference() {
        for (int[] xs : new int[][] {{130, 37}, {70, 300}, {67, 5, 3, 3}, {3, 24, 20, 20}}) {
            String what = "batchNorm " + Arrays.toString(xs);
            int n = xs[0];
            int c = xs[1];
            Tensor x = rand(3, 6, xs); // off-centre, as activations are
            Tensor gamma = rand(0.5f, 1.5f, c);
            Tensor beta = rand(-1, 1, c);
            Tensor dOut = rand(-1, 1, xs);
            float[][] g = grads(
                    a -> Functional.batchNorm(a[0], a[1], a[2], null, null, true, 0.1f, 1e-5f), dOut, x, gamma, beta);
            float[] y = Functional.batchNorm(x, gamma, beta, null, null, true, 0.1f, 1e-5f)
                    .toFloatArray();
            float[] xv = x.toFloatArray();
            float[] dv = dOut.toFloatArray();
            float[] gv = gamma.toFloatArray();
            float[] bv = beta.toFloatArray();
            int hw = xv.length / (n * c);
            double m = (double) n * hw;
            float[] expY = new float[xv.length];
            float[] expDx = new float[xv.length];
            float[] expDGamma = new float[c];
            float[] expDBeta = new float[c];
            for (int ch = 0; ch < c; ch++) {
                double[] mv = refMoments(xv, n, c, hw, ch);
                double mean = mv[0];
                double inv = 1 / Math.sqrt(mv[1] + 1e-5);
                double sumD = 0;
                double sumDXhat = 0;
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < hw; j++) {
                        int at = (i * c + ch) * hw + j;
                        double xhat = (xv[at] - mean) * inv;
                        expY[at] = (float) (xhat * gv[ch] + bv[ch]);
                        sumD += dv[at];
                        sumDXhat += dv[at] * xhat;
                    }
                }
                expDGamma[ch] = (float) sumDXhat;
                expDBeta[ch] = (float) sumD;
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < hw; j++) {
                        int at = (i * c + ch) * hw + j;
                        double xhat = (xv[at] - mean) * inv;
                        expDx[at] = (float) (gv[ch] * inv * (dv[at] - sumD / m - xhat * sumDXhat / m));
                    }
                }
            }
            assertClose(expY, y, 1e-4, what);
            assertClose(expDx, g[0], 1e-3, what + " dx");
            assertClose(expDGamma, g[1], 1e-3, what + " dGamma");
            assertClose(expDBeta, g[2], 1e-3, what + " dBeta");
        }
    }
}
