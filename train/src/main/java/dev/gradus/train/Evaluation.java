package dev.gradus.train;

import dev.gradus.GradMode;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.datasets.DataLoader;
import dev.gradus.nn.Module;
import dev.gradus.spi.Backend;

/** Predictions and accuracy of a classifier over a loader, in evaluation mode and without a graph. */
public final class Evaluation {
    private Evaluation() {}

    /**
     * Predictions, labels and mean loss over one pass of {@code loader}, and the pass's wall-clock seconds (batches
     * loaded, forward in eval mode, argmax and predictions read back, as a server would).
     */
    public record Outcome(int[] predictions, int[] labels, double loss, double seconds) {
        /** Images (rows) evaluated per second of the pass. */
        public double imagesPerSecond() {
            return seconds > 0 ? labels.length / seconds : 0;
        }

        /** Fraction of predictions equal to the label. */
        public double accuracy() {
            int right = 0;
            for (int i = 0; i < labels.length; i++) {
                right += predictions[i] == labels[i] ? 1 : 0;
            }
            return labels.length == 0 ? 0 : (double) right / labels.length;
        }
    }

    /** Runs {@code model} over every batch of {@code loader} (in order: do not shuffle it). */
    public static Outcome evaluate(Module model, DataLoader loader, Backend backend) {
        boolean wasTraining = model.isTraining();
        model.eval();
        int n = loader.dataset().size();
        int[] preds = new int[n];
        int[] labels = new int[n];
        double lossSum = 0;
        int at = 0;
        long t0 = System.nanoTime();
        try (GradMode ng = GradMode.noGrad()) {
            for (DataLoader.Batch b : loader.epoch(backend)) {
                try (b;
                        Scope s = Scope.open()) {
                    Tensor logits = model.forward(b.x());
                    int[] p = logits.argmax(1).toIntArray();
                    int[] y = b.y().toIntArray();
                    System.arraycopy(p, 0, preds, at, p.length);
                    System.arraycopy(y, 0, labels, at, y.length);
                    if (loader.dataset().labeled()) {
                        lossSum += logits.crossEntropy(b.y()).item() * b.size();
                    }
                    at += b.size();
                }
            }
        } finally {
            if (wasTraining) {
                model.train();
            }
        }
        return new Outcome(preds, labels, at == 0 ? 0 : lossSum / at, (System.nanoTime() - t0) / 1e9);
    }
}
