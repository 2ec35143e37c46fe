package dev.gradus.train;

import dev.gradus.Backends;
import dev.gradus.DType;
import dev.gradus.Device;
import dev.gradus.GradMode;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.datasets.DataLoader;
import dev.gradus.nn.Module;
import dev.gradus.spi.Backend;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One pass of a model over a loader in evaluation mode and without a graph: its mean loss, its metrics and, for a
 * classifier over class labels, every prediction and label.
 */
public final class Evaluation {
    private Evaluation() {}

    /**
     * What a pass gave: predictions and labels (empty unless the targets are class labels and the output
     * {@code [N, C]} scores), the mean loss (0 for an unlabelled set), each metric's values by name, and the
     * pass's wall-clock seconds (batches loaded, forward, results read back, as a server would).
     */
    public record Outcome(int[] predictions, int[] labels, double loss, double seconds, Map<String, Double> metrics) {
        public Outcome {
            metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
        }

        /** A classifier's pass with its accuracy as its one metric. */
        public Outcome(int[] predictions, int[] labels, double loss, double seconds) {
            this(predictions, labels, loss, seconds, Map.of("accuracy", accuracy(predictions, labels)));
        }

        private static double accuracy(int[] predictions, int[] labels) {
            int right = 0;
            for (int i = 0; i < labels.length; i++) {
                right += predictions[i] == labels[i] ? 1 : 0;
            }
            return labels.length == 0 ? 0 : (double) right / labels.length;
        }

        /** Examples (rows) evaluated per second of the pass. */
        public double imagesPerSecond() {
            return seconds > 0 ? labels.length / seconds : 0;
        }

        /** Fraction of predictions equal to the label (0 without labels). */
        public double accuracy() {
            return accuracy(predictions, labels);
        }
    }

    /**
     * A classifier's pass on {@code device}: softmax cross-entropy and accuracy (in order: do not shuffle
     * {@code loader}).
     */
    public static Outcome evaluate(Module model, DataLoader loader, Device device) {
        return evaluate(model, loader, Backends.of(device));
    }

    /** Runs {@code model} over every batch of {@code loader} on {@code device}, measuring {@code loss} and {@code metrics}. */
    public static Outcome evaluate(Module model, DataLoader loader, Device device, Loss loss, List<Metric> metrics) {
        return evaluate(model, loader, Backends.of(device), loss, metrics);
    }

    /** A classifier's pass on {@code backend} (the SPI-level form of {@link #evaluate(Module, DataLoader, Device)}). */
    public static Outcome evaluate(Module model, DataLoader loader, Backend backend) {
        return evaluate(model, loader, backend, Loss.crossEntropy(), List.of(Metrics.accuracy()));
    }

    /** Runs {@code model} over every batch of {@code loader} (in order), measuring {@code loss} and {@code metrics}. */
    public static Outcome evaluate(Module model, DataLoader loader, Backend backend, Loss loss, List<Metric> metrics) {
        boolean wasTraining = model.isTraining();
        model.eval();
        metrics.forEach(Metric::reset);
        boolean labeled = loader.dataset().labeled();
        boolean classes = loader.dataset().targetShape() == null;
        int n = loader.dataset().size();
        int[] preds = new int[classes ? n : 0];
        int[] labels = new int[classes ? n : 0];
        double lossSum = 0;
        int at = 0;
        long t0 = System.nanoTime();
        try (GradMode ng = GradMode.noGrad()) {
            for (DataLoader.Batch b : loader.epoch(backend)) {
                try (b;
                        Scope s = Scope.open()) {
                    Tensor out = model.forward(b.x());
                    if (classes && out.shape().rank() == 2) {
                        System.arraycopy(out.argmax(1).toIntArray(), 0, preds, at, b.size());
                        if (b.y().dtype() == DType.INT32) {
                            System.arraycopy(b.y().toIntArray(), 0, labels, at, b.size());
                        }
                    }
                    if (labeled) {
                        lossSum += loss.apply(out, b.y()).item() * b.size();
                        for (Metric m : metrics) {
                            m.update(out, b.y());
                        }
                    }
                    at += b.size();
                }
            }
        } finally {
            if (wasTraining) {
                model.train();
            }
        }
        Map<String, Double> values = new LinkedHashMap<>();
        if (labeled) {
            metrics.forEach(m -> values.putAll(m.results()));
        }
        return new Outcome(preds, labels, at == 0 ? 0 : lossSum / at, (System.nanoTime() - t0) / 1e9, values);
    }
}
