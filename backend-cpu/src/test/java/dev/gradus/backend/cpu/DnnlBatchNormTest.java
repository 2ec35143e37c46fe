package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Batch statistics of oneDNN's batch normalisation over a convolution's blocked output, against a double-precision
 * reference, on a batch large enough for float sums to drift (64 x 784 values a channel) and with a large offset
 * (mean 1000, spread 1: a one-pass variance in float would lose every digit).
 */
class DnnlBatchNormTest {
    @Test
    void batchStatisticsMatchADoubleReferenceOnALargeOffsetBatch() {
        CpuBackend be = CpuBackendProvider.get();
        Assumptions.assumeTrue(be.convolutionPath().startsWith("oneDNN"), be.convolutionPath());
        int n = 64;
        int c = 16;
        int hw = 28;
        float[] x = new float[n * hw * hw];
        Rng rng = new Rng(11);
        for (int i = 0; i < x.length; i++) {
            x[i] = 1000f + rng.nextFloat() * 2 - 1;
        }
        // momentum 1: the running statistics become the batch's mean and unbiased variance.
        BatchNorm2d bn = new BatchNorm2d(be, new BatchNorm.Config(c, 1e-5f, 1f, true));
        try (Conv2d conv = new Conv2d(be, Conv2d.Config.of(1, c, 3).withPadding(1), new Rng(12));
                bn;
                Scope s = Scope.open()) {
            Tensor in = Tensor.of(be, x, n, 1, hw, hw);
            float[] y = conv.forward(in).toFloatArray(); // read back: plain
            Tensor blocked = conv.forward(in); // a fresh output, still in oneDNN's blocked layout
            Tensor out = bn.forward(blocked);
            float[] mean = bn.runningMean().toFloatArray();
            float[] var = bn.runningVar().toFloatArray();
            long m = (long) n * hw * hw;
            double worstMean = 0;
            double worstVar = 0;
            for (int ch = 0; ch < c; ch++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    for (int p = 0; p < hw * hw; p++) {
                        sum += y[(i * c + ch) * hw * hw + p];
                    }
                }
                double mu = sum / m;
                double sq = 0;
                for (int i = 0; i < n; i++) {
                    for (int p = 0; p < hw * hw; p++) {
                        double d = y[(i * c + ch) * hw * hw + p] - mu;
                        sq += d * d;
                    }
                }
                double unbiased = sq / (m - 1);
                worstMean = Math.max(worstMean, Math.abs(mean[ch] - mu) / Math.max(1, Math.abs(mu)));
                worstVar = Math.max(worstVar, Math.abs(var[ch] - unbiased) / Math.max(1e-3, unbiased));
            }
            assertTrue(worstMean < 1e-6, "mean off by " + worstMean);
            assertTrue(worstVar < 1e-3, "variance off by " + worstVar + " (relative)");
            // The normalised output has mean 0 and variance 1 per channel.
            float[] o = out.toFloatArray();
            double sum = 0;
            double sq = 0;
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < hw * hw; p++) {
                    double v = o[(i * c) * hw * hw + p];
                    sum += v;
                    sq += v * v;
                }
            }
            assertEquals(0, sum / m, 1e-3);
            assertEquals(1, sq / m, 1e-2);
        }
    }
}
