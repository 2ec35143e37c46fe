package dev.gradus.testing;

import dev.gradus.Tensor;
import dev.gradus.nn.Module;
import dev.gradus.optim.Optimizer;

/**
 * One classifier training step for tests: zero the gradients, cross-entropy of {@code model(x)} against the labels
 * {@code y}, backward, optimizer step. Opens no scope: the caller's scope (or none) owns what it makes.
 *
 * <pre>{@code
 * float loss = TrainSteps.crossEntropy(model, adam, x, y);
 * }</pre>
 */
public final class TrainSteps {
    private TrainSteps() {}

    /** Takes one step on the batch {@code x} ([N, ...]) with labels {@code y} ([N], INT32); returns the loss. */
    public static float crossEntropy(Module model, Optimizer opt, Tensor x, Tensor y) {
        opt.zeroGrad();
        Tensor loss = model.forward(x).crossEntropy(y);
        loss.backward();
        opt.step();
        return loss.item();
    }
}
