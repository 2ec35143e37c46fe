package dev.gradus.nn;

/**
 * Bad input to one layer of a {@link Sequential}: the message names the layer's index and description, then the
 * op's own message with its shapes.
 *
 * <p>{@code layer 1 (Dense(784 -> 48)): matmul: [32, 100] x [784, 48] (inner dimensions 100 and 784 differ)}
 */
public final class LayerException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final int layer;

    LayerException(int layer, String message, Throwable cause) {
        super(message, cause);
        this.layer = layer;
    }

    /** Index of the failing layer in its {@link Sequential}. */
    public int layer() {
        return layer;
    }
}
