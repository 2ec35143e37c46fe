package dev.gradus.nn;

import dev.gradus.Tensor;

/**
 * Rectified linear unit, {@code max(x, 0)}, as a layer.
 *
 * <p>Shapes: any; output shape = input shape. {@code new Sequential(new Dense(784, 48), new ReLU())}
 */
public final class ReLU extends Activation {
    /** The layer. */
    public ReLU() {
        super("ReLU", Tensor::relu);
    }
}
