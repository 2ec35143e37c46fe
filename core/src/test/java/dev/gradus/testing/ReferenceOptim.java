package dev.gradus.testing;

import static dev.gradus.testing.ReferenceBackend.floats;

import dev.gradus.spi.AdamStep;
import dev.gradus.spi.Operand;
import dev.gradus.spi.SgdStep;

/**
 * The reference backend's fused optimizer steps, element by element in double, as the javadoc of {@link AdamStep}
 * and {@link SgdStep} (PyTorch's {@code torch.optim.Adam}/{@code AdamW} and {@code SGD}) define them.
 */
final class ReferenceOptim {
    private ReferenceOptim() {}

    /**
     * {@code p *= weightFactor; g += l2 * p; m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g^2;
     * p -= stepSize * m / (sqrt(v) * invSqrtBiasCorrection2 + eps)}.
     */
    static void adamStep(Operand param, Operand grad, Operand m, Operand v, AdamStep h) {
        int n = Operand.requireDenseSameSize("adamStep", param, grad, m, v);
        float[] pv = floats(param.storage());
        float[] gv = floats(grad.storage());
        float[] mv = floats(m.storage());
        float[] vv = floats(v.storage());
        for (int i = 0; i < n; i++) {
            double p = pv[i] * (double) h.weightFactor();
            double g = gv[i] + h.l2() * p;
            double mi = h.beta1() * (double) mv[i] + (1 - (double) h.beta1()) * g;
            double vi = h.beta2() * (double) vv[i] + (1 - (double) h.beta2()) * g * g;
            mv[i] = (float) mi;
            vv[i] = (float) vi;
            pv[i] = (float) (p - h.stepSize() * mi / (Math.sqrt(vi) * h.invSqrtBiasCorrection2() + h.eps()));
        }
    }

    /**
     * {@code g = grad + weightDecay * p}; with momentum, {@code buf = firstStep ? g : momentum * buf +
     * (1 - dampening) * g} and {@code g = nesterov ? g + momentum * buf : buf}; then {@code p -= lr * g}.
     */
    static void sgdStep(Operand param, Operand grad, Operand momentumBuf, SgdStep h) {
        int n = Operand.requireDenseSameSize("sgdStep", param, grad, momentumBuf);
        float[] pv = floats(param.storage());
        float[] gv = floats(grad.storage());
        float[] buf = momentumBuf == null ? null : floats(momentumBuf.storage());
        for (int i = 0; i < n; i++) {
            double g = gv[i] + h.weightDecay() * (double) pv[i];
            if (buf != null) {
                double b = h.firstStep() ? g : h.momentum() * (double) buf[i] + (1 - (double) h.dampening()) * g;
                buf[i] = (float) b;
                g = h.nesterov() ? g + h.momentum() * b : b;
            }
            pv[i] = (float) (pv[i] - h.lr() * g);
        }
    }
}
