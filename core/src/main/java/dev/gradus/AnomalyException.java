package dev.gradus;

/**
 * Thrown in {@link Anomaly} mode by the first op whose output, or gradient, holds NaN or infinity.
 *
 * <pre>{@code
 * catch (AnomalyException e) { log.error("{} in {}", e.op(), e.layer()); }
 * }</pre>
 */
public class AnomalyException extends ArithmeticException {
    private final String op;
    private final String layer;

    public AnomalyException(String op, String layer, String message) {
        super(message);
        this.op = op;
        this.layer = layer;
    }

    /** The op that produced the value, as the graph names it ({@code "log"}, {@code "matmul"}). */
    public String op() {
        return op;
    }

    /** The layer path it ran in ({@code "layer 2 (Dense(784 -> 10))"}), or null outside a Sequential. */
    public String layer() {
        return layer;
    }
}
