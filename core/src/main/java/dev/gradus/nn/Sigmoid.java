package dev.gradus.nn;

import dev.gradus.Tensor;

/**
 * Logistic sigmoid, {@code 1 / (1 + e^-x)}, as a layer.
 *
 * <p>Shapes: any; output shape = input shape. {@code new Sequential(new Dense(784, 48), new Sigmoid())}
 */
public final class Sigmoid extends Activation {
    /** The layer. */
    public Sigmoid() {
        super("Sigmoid", Tensor::sigmoid);
    }
}
