package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.refLogSoftmax;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Activations;
import dev.gradus.Losses;
import dev.gradus.Tensor;
import dev.gradus.nn.GELU;
import dev.gradus.nn.Identity;
import dev.gradus.nn.LeakyReLU;
import dev.gradus.nn.SiLU;
import dev.gradus.nn.Softplus;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The composed activations (LeakyReLU, SiLU, Softplus, tanh-GELU) and losses (BCE with logits, L1, smooth L1,
 * Huber, NLL, cross-entropy with label smoothing and ignored labels, KL divergence) against plain double references
 * with PyTorch's formulas, and their gradients against central differences, on odd shapes. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface ActivationsAndLossesConformance extends SuiteHelpers {
    private void elementwise(String what, Function<Tensor, Tensor> op, DoubleUnaryOperator ref, float lo, float hi) {
        float[] x = random(3 * 7, lo, hi);
        x[0] = 0.5f; // away from kinks for the gradient check
        float[] y = op.apply(t(x, 3, 7)).toFloatArray();
        for (int i = 0; i < x.length; i++) {
            double want = ref.applyAsDouble(x[i]);
            assertEquals(want, y[i], 1e-5 * Math.max(1, Math.abs(want)), what + " at " + x[i]);
        }
        gradCheck(what, in -> op.apply(in[0]), t(random(2 * 5, lo, hi), 2, 5));
    }

    @Test
    default void composedActivationsMatchTheirFormulas() {
        elementwise("leakyRelu", x -> Activations.leakyRelu(x, 0.2f), v -> v > 0 ? v : 0.2 * v, -3, 3);
        elementwise("silu", Activations::silu, v -> v / (1 + Math.exp(-v)), -6, 6);
        elementwise("softplus", x -> Activations.softplus(x, 1f, 20f), v -> Math.log1p(Math.exp(v)), -8, 8);
        elementwise(
                "softplus beta 2", x -> Activations.softplus(x, 2f, 20f), v -> Math.log1p(Math.exp(2 * v)) / 2, -5, 5);
        elementwise(
                "geluTanh",
                Activations::geluTanh,
                v -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))),
                -4,
                4);
        // Softplus far out: linear above the threshold, no overflow or log(0) below.
        float[] far = Activations.softplus(t(new float[] {100f, -100f, 30f}, 3), 1f, 20f)
                .toFloatArray();
        assertEquals(100f, far[0]);
        assertEquals(Math.exp(-100), far[1], 1e-40);
        assertEquals(30f, far[2]);
        // The modules are the functions.
        Tensor x = t(new float[] {-1f, 2f}, 2);
        assertEquals(-0.01f, new LeakyReLU().forward(x).toFloatArray()[0], 1e-7);
        assertEquals(2 / (1 + Math.exp(-2)), new SiLU().forward(x).toFloatArray()[1], 1e-6);
        assertEquals(Math.log1p(Math.exp(-1)), new Softplus().forward(x).toFloatArray()[0], 1e-6);
        assertEquals(x.gelu().toFloatArray()[1], new GELU().forward(x).toFloatArray()[1]);
        assertEquals(-1f, new Identity().forward(x).toFloatArray()[0]);
        assertThrows(IllegalArgumentException.class, () -> new GELU("fast"));
    }

    @Test
    default void regressionAndBinaryLossesMatchTheirFormulas() {
        float[] a = random(5 * 3, -4, 4);
        float[] b = random(5 * 3, -4, 4);
        float[] p = random(5 * 3, 0, 1); // probabilities as targets
        float[] w = {0.5f, 2f, 3f};
        double l1 = 0;
        double smooth = 0;
        double huber = 0;
        double bce = 0;
        double bceW = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            l1 += Math.abs(d);
            smooth += Math.abs(d) < 0.5 ? 0.5 * d * d / 0.5 : Math.abs(d) - 0.25;
            huber += Math.abs(d) <= 2 ? 0.5 * d * d : 2 * (Math.abs(d) - 1);
            double s = 1 / (1 + Math.exp(-a[i]));
            bce += -(p[i] * Math.log(s) + (1 - p[i]) * Math.log(1 - s));
            bceW += -(w[i % 3] * p[i] * Math.log(s) + (1 - p[i]) * Math.log(1 - s));
        }
        int n = a.length;
        Tensor ta = t(a, 5, 3);
        Tensor tb = t(b, 5, 3);
        Tensor tp = t(p, 5, 3);
        Tensor tw = t(w, 3);
        assertEquals(l1 / n, Losses.l1Loss(ta, tb).item(), 1e-5);
        assertEquals(smooth / n, Losses.smoothL1Loss(ta, tb, 0.5f).item(), 1e-5);
        assertEquals(huber / n, Losses.huberLoss(ta, tb, 2f).item(), 1e-5);
        assertEquals(bce / n, Losses.binaryCrossEntropyWithLogits(ta, tp, null).item(), 1e-5);
        assertEquals(bceW / n, Losses.binaryCrossEntropyWithLogits(ta, tp, tw).item(), 1e-5);
        // No overflow for large logits: log(1 + exp(-|x|)) + max(-x, 0).
        assertEquals(
                (1000 + 0) / 2.0,
                Losses.binaryCrossEntropyWithLogits(t(new float[] {-1000f, 1000f}, 2), t(new float[] {1f, 1f}, 2), null)
                        .item(),
                1e-3);
        gradCheck("l1Loss", in -> Losses.l1Loss(in[0], in[1]), t(a, 5, 3), t(b, 5, 3));
        gradCheck("smoothL1Loss", in -> Losses.smoothL1Loss(in[0], in[1], 0.5f), t(a, 5, 3), t(b, 5, 3));
        gradCheck("huberLoss", in -> Losses.huberLoss(in[0], in[1], 2f), t(a, 5, 3), t(b, 5, 3));
        gradCheck("bceWithLogits", in -> Losses.binaryCrossEntropyWithLogits(in[0], tp, tw), t(a, 5, 3));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Losses.l1Loss(ta, t(new float[5], 5)));
        assertTrue(e.getMessage().contains("[5, 3]") && e.getMessage().contains("[5]"), e.getMessage());
    }

    @Test
    default void classificationLossesMatchPyTorch() {
        int n = 5;
        int c = 4;
        float[] logits = random(n * c, -3, 3);
        int[] y = {2, Losses.IGNORE_INDEX, 0, 3, 1};
        double plain = 0;
        double smoothed = 0;
        int kept = 0;
        double[] logp = refLogSoftmax(logits, n, c);
        for (int i = 0; i < n; i++) {
            if (y[i] == Losses.IGNORE_INDEX) {
                continue;
            }
            kept++;
            plain += -logp[i * c + y[i]];
            double uniform = 0;
            for (int k = 0; k < c; k++) {
                uniform += -logp[i * c + k] / c;
            }
            smoothed += 0.9 * -logp[i * c + y[i]] + 0.1 * uniform;
        }
        Tensor labels = Tensor.ofInts(suiteBackend(), y, n);
        Tensor x = t(logits, n, c);
        assertEquals(
                plain / kept,
                Losses.crossEntropy(x, labels, 0f, Losses.IGNORE_INDEX).item(),
                1e-5);
        assertEquals(
                smoothed / kept,
                Losses.crossEntropy(x, labels, 0.1f, Losses.IGNORE_INDEX).item(),
                1e-5);
        assertEquals(
                plain / kept,
                Losses.nllLoss(x.logSoftmax(1), labels, Losses.IGNORE_INDEX).item(),
                1e-5);
        gradCheck(
                "crossEntropy smoothed",
                in -> Losses.crossEntropy(in[0], labels, 0.1f, Losses.IGNORE_INDEX),
                t(logits, n, c));
        gradCheck("nllLoss", in -> Losses.nllLoss(in[0], labels, Losses.IGNORE_INDEX), t(logits, n, c));
        // KL divergence of a target distribution from the model's log-probabilities, with a zero in the target.
        float[] q = {0f, 0.5f, 0.25f, 0.25f, 0.1f, 0.2f, 0.3f, 0.4f};
        double kl = 0;
        for (int i = 0; i < 2; i++) {
            for (int k = 0; k < c; k++) {
                double tq = q[i * c + k];
                kl += tq == 0 ? 0 : tq * (Math.log(tq) - logp[i * c + k]);
            }
        }
        Tensor lp = x.narrow(0, 0, 2).logSoftmax(1);
        Tensor tq = t(q, 2, c);
        assertEquals(kl / 2, Losses.klDiv(lp, tq, "batchmean").item(), 1e-5);
        assertEquals(kl, Losses.klDiv(lp, tq, "sum").item(), 1e-5);
        assertEquals(kl / 8, Losses.klDiv(lp, tq, "mean").item(), 1e-5);
        gradCheck("klDiv", in -> Losses.klDiv(in[0], tq, "batchmean"), t(random(8, -2, 0), 2, c));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Losses.nllLoss(x, Tensor.ofInts(suiteBackend(), new int[] {0, 1, 2, 7, 0}, n), -100));
        assertTrue(e.getMessage().contains("label 7 at row 3"), e.getMessage());
    }
}
