package dev.gradus;

/**
 * Element type of a tensor.
 *
 * <p>{@code FLOAT32} holds activations and weights; {@code INT32} holds class labels and argmax results.
 */
public enum DType {
    FLOAT32(4),
    INT32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }
}
