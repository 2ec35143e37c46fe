package dev.gradus.nn;

/**
 * Softmax along an axis (default the last), as a layer; for training use logits with
 * {@link dev.gradus.Tensor#crossEntropy} instead, which is fused and stable.
 *
 * <p>Shapes: any; output shape = input shape. {@code new Softmax()}
 */
public final class Softmax extends Activation {
    private final int axis;

    /** Softmax over the last axis. */
    public Softmax() {
        this(-1);
    }

    /** Softmax over {@code axis}. */
    public Softmax(int axis) {
        super("Softmax", x -> x.softmax(axis));
        this.axis = axis;
    }

    /** The axis the softmax runs over (negative counts from the end). */
    public int axis() {
        return axis;
    }
}
