package dev.gradus.nn;

import dev.gradus.Tensor;

/**
 * Hyperbolic tangent, as a layer.
 *
 * <p>Shapes: any; output shape = input shape. {@code new Sequential(new Dense(784, 48), new Tanh())}
 */
public final class Tanh extends Activation {
    /** The layer. */
    public Tanh() {
        super("Tanh", Tensor::tanh);
    }
}
