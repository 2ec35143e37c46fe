package dev.gradus.nn;

import dev.gradus.GradMode;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import java.util.List;

/**
 * Gradient clipping between {@code backward()} and {@code step()}, as {@code torch.nn.utils.clip_grad_norm_} and
 * {@code clip_grad_value_}; parameters without a gradient are skipped.
 *
 * <pre>{@code
 * loss.backward();
 * double norm = ClipGrad.clipGradNorm(model.parameters(), 1.0);
 * opt.step();
 * }</pre>
 */
public final class ClipGrad {
    private ClipGrad() {}

    /**
     * Scales all gradients together so that their global L2 norm is at most {@code maxNorm} (by
     * {@code maxNorm / (norm + 1e-6)}, as PyTorch) and returns the norm before clipping.
     *
     * @throws IllegalArgumentException if {@code maxNorm} is not positive
     * @throws ArithmeticException naming the norm when a gradient holds NaN or an infinity (nothing is changed then)
     */
    public static double clipGradNorm(List<? extends Tensor> params, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("clipGradNorm: maxNorm must be > 0, got " + maxNorm);
        }
        double sumSq = 0;
        try (GradMode ng = GradMode.noGrad();
                Scope s = Scope.open()) {
            for (Tensor p : params) {
                if (p.hasGrad()) {
                    Tensor g = p.grad();
                    sumSq += g.mul(g).sum().item();
                }
            }
            double norm = Math.sqrt(sumSq);
            if (!Double.isFinite(norm)) {
                throw new ArithmeticException("clipGradNorm: the gradients' norm is " + norm
                        + " (a NaN or infinite gradient; Anomaly.detect() finds the op)");
            }
            double coef = maxNorm / (norm + 1e-6);
            if (coef < 1) {
                for (Tensor p : params) {
                    if (p.hasGrad()) {
                        Tensor g = p.grad();
                        g.copyFrom(g.mul((float) coef));
                    }
                }
            }
            return norm;
        }
    }

    /**
     * Clamps every gradient element into {@code [-clip, clip]}.
     *
     * @throws IllegalArgumentException if {@code clip} is not positive
     */
    public static void clipGradValue(List<? extends Tensor> params, double clip) {
        if (!(clip > 0)) {
            throw new IllegalArgumentException("clipGradValue: clip must be > 0, got " + clip);
        }
        float c = (float) clip;
        try (GradMode ng = GradMode.noGrad();
                Scope s = Scope.open()) {
            for (Tensor p : params) {
                if (p.hasGrad()) {
                    Tensor g = p.grad();
                    // min(x, c) = -max(-x, -c), so clamp composes from maximum alone
                    Tensor lo = Tensor.full(g.backend(), -c);
                    g.copyFrom(g.neg().maximum(lo).neg().maximum(lo));
                }
            }
        }
    }
}
