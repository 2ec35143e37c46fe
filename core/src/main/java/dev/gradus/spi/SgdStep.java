package dev.gradus.spi;

/**
 * Hyper-parameters of one fused SGD update, PyTorch semantics.
 *
 * @param firstStep true on the first update, when the momentum buffer is set to the gradient
 */
public record SgdStep(
        float lr, float momentum, float dampening, float weightDecay, boolean nesterov, boolean firstStep) {}
