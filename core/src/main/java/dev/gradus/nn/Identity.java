package dev.gradus.nn;

/**
 * Returns its input, as PyTorch's {@code nn.Identity}: a placeholder where a model takes an optional layer.
 *
 * <p>Shapes: any; output = input. {@code new Sequential(new Dense(4, 4), new Identity())}
 */
public final class Identity extends Activation {
    /** The layer. */
    public Identity() {
        super("Identity", x -> x);
    }
}
