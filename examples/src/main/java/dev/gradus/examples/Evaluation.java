package dev.gradus.examples;

import dev.gradus.GradMode;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.datasets.DataLoader;
import dev.gradus.nn.Module;
import dev.gradus.spi.Backend;

/** Accuracy of a classifier over a loader, in evaluation mode and without a graph. */
public final class Evaluation {
    private Evaluation() {
    }

    /** Fraction of examples whose argmax prediction equals the label. */
    public static double accuracy(Module model, DataLoader loader, Backend backend) {
        boolean wasTraining = model.isTraining();
        model.eval();
        long correct = 0;
        long total = 0;
        try (GradMode ng = GradMode.noGrad()) {
            for (DataLoader.Batch b : loader.epoch(backend)) {
                try (b; Scope s = Scope.open()) {
                    Tensor pred = model.forward(b.x()).argmax(1);
                    correct += (long) pred.eq(b.y()).sum().item();
                    total += b.size();
                }
            }
        } finally {
            if (wasTraining) {
                model.train();
            }
        }
        return total == 0 ? 0 : (double) correct / total;
    }
}
