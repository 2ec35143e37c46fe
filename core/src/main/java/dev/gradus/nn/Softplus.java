package dev.gradus.nn;

import dev.gradus.Activations;

/**
 * {@code log(1 + exp(beta * x)) / beta}, linear above {@code threshold}, as PyTorch's {@code nn.Softplus}.
 *
 * <p>Shapes: any; output shape = input shape. {@code new Softplus()}
 */
public final class Softplus extends Activation {
    /** Beta 1, threshold 20 (PyTorch's defaults). */
    public Softplus() {
        this(1f, 20f);
    }

    /** The layer with {@code beta} and {@code threshold}. */
    public Softplus(float beta, float threshold) {
        super(
                "Softplus(beta=" + beta + ", threshold=" + threshold + ")",
                x -> Activations.softplus(x, beta, threshold));
    }
}
