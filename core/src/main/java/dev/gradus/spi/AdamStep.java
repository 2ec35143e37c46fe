package dev.gradus.spi;

/**
 * Hyper-parameters of one fused Adam update, PyTorch semantics.
 *
 * @param step        1 for the first update (bias correction uses it)
 * @param decoupled   true for AdamW (decay applied to the weights), false for L2 added to the gradient
 */
public record AdamStep(float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled, long step) {
    /** {@code lr / (1 - beta1^step)}, computed in double precision as PyTorch does. */
    public float stepSize() {
        return (float) (lr / (1 - Math.pow(beta1, step)));
    }

    /** {@code 1 / sqrt(1 - beta2^step)}. */
    public float invSqrtBiasCorrection2() {
        return (float) (1 / Math.sqrt(1 - Math.pow(beta2, step)));
    }

    /** What the weights are multiplied by before the update: {@code 1 - lr * weightDecay} for AdamW, else 1. */
    public float weightFactor() {
        return decoupled ? 1f - lr * weightDecay : 1f;
    }

    /** The L2 coefficient added to the gradient: {@code weightDecay} for Adam, 0 for AdamW. */
    public float l2() {
        return decoupled ? 0f : weightDecay;
    }
}
