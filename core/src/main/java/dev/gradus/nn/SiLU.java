package dev.gradus.nn;

import dev.gradus.Activations;

/**
 * {@code x * sigmoid(x)} (swish), as PyTorch's {@code nn.SiLU}.
 *
 * <p>Shapes: any; output shape = input shape. {@code new SiLU()}
 */
public final class SiLU extends Activation {
    /** The layer. */
    public SiLU() {
        super("SiLU", Activations::silu);
    }
}
