package dev.gradus.nn;

import dev.gradus.Activations;

/**
 * {@code x} where positive, else {@code negativeSlope * x}, as PyTorch's {@code nn.LeakyReLU}.
 *
 * <p>Shapes: any; output shape = input shape. {@code new LeakyReLU(0.2f)}
 */
public final class LeakyReLU extends Activation {
    private final float negativeSlope;

    /** Slope 0.01, PyTorch's default. */
    public LeakyReLU() {
        this(0.01f);
    }

    /** The layer with {@code negativeSlope} for negative inputs. */
    public LeakyReLU(float negativeSlope) {
        super("LeakyReLU(" + negativeSlope + ")", x -> Activations.leakyRelu(x, negativeSlope));
        this.negativeSlope = negativeSlope;
    }

    /** The slope for negative inputs. */
    public float negativeSlope() {
        return negativeSlope;
    }
}
