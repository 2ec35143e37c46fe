package dev.gradus.spi;

/**
 * Hyper-parameters of one fused Adam update, PyTorch semantics.
 *
 * @param step        1 for the first update (bias correction uses it)
 * @param decoupled   true for AdamW (decay applied to the weights), false for L2 added to the gradient
 */
public record AdamStep(float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled,
                       long step) {
}
