package dev.gradus.nn;

import dev.gradus.Activations;

/**
 * {@code log(1 + exp(beta * x)) / beta}, linear above {@code threshold}, as PyTorch's {@code nn.Softplus}.
 *
 * <p>Shapes: any; output shape = input shape. {@code new Softplus()}
 */
public final class Softplus extends Activation {
    private final float beta;
    private final float threshold;

    /** Beta 1, threshold 20 (PyTorch's defaults). */
    public Softplus() {
        this(1f, 20f);
    }

    /** The layer with {@code beta} and {@code threshold}. */
    public Softplus(float beta, float threshold) {
        super(
                "Softplus(beta=" + beta + ", threshold=" + threshold + ")",
                x -> Activations.softplus(x, beta, threshold));
        this.beta = beta;
        this.threshold = threshold;
    }

    /** The input's scale inside the log. */
    public float beta() {
        return beta;
    }

    /** Above it ({@code beta * x}), the output is {@code x}. */
    public float threshold() {
        return threshold;
    }
}
