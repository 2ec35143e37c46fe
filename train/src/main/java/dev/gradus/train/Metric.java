package dev.gradus.train;

import dev.gradus.Tensor;
import java.util.Map;

/**
 * A quantity measured over a whole evaluation pass, batch by batch (Keras' and torchmetrics' {@code Metric}):
 * {@link #reset}, then {@link #update} with each batch, then {@link #results}. An instance keeps state: use one per
 * run. Built-in ones are in {@link Metrics}.
 *
 * <p>Shapes: {@code output [N, ...]} as the model gives it, {@code target} as the loader gives it ({@code [N]}
 * INT32 class indices, or FLOAT32 of the output's shape).
 *
 * <pre>{@code
 * Training.Config.of(model, opt, train, valid, 10).withMetrics(List.of(Metrics.accuracy(), Metrics.f1(10)));
 * }</pre>
 */
public interface Metric {
    /** The name in the log's table, the {@code History} (after the split's name: {@code valid_mae}) and metrics.json. */
    String name();

    /** Forgets every batch seen. */
    void reset();

    /** Adds one batch (read back to the host: metrics are computed in Java, in double). */
    void update(Tensor output, Tensor target);

    /** The value over the batches since {@link #reset}; NaN when there were none. */
    double result();

    /**
     * Every value this metric reports, the main one first under {@link #name()}: a per-class metric adds
     * {@code f1_class_3} and so on.
     */
    default Map<String, Double> results() {
        return Map.of(name(), result());
    }

    /** True when the value is a fraction best shown as a percentage (accuracy, precision, recall, F1). */
    default boolean isFraction() {
        return false;
    }
}
