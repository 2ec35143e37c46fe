package dev.gradus.train;

import dev.gradus.DType;
import dev.gradus.Functional;
import dev.gradus.Tensor;

/**
 * What {@link Training#fit} minimises: a scalar from a batch's model output and its targets.
 *
 * <p>Shapes: {@code output [N, ...]} and {@code target} as the loss needs them ({@code [N]} INT32 class indices or
 * {@code [N, C]} soft labels for cross-entropy, the output's shape for MSE); the result is a scalar tensor.
 *
 * <pre>{@code
 * Training.Config.of(model, opt, train, valid, 50).withLoss(Loss.mse());
 * Training.Config.of(model, opt, train, valid, 5).withLoss((out, y) -> Functional.mseLoss(out.sigmoid(), y));
 * }</pre>
 */
@FunctionalInterface
public interface Loss {
    /** The batch's loss, a scalar with a graph back to {@code output}. */
    Tensor apply(Tensor output, Tensor target);

    /**
     * Softmax cross-entropy over the last axis (PyTorch's {@code nn.CrossEntropyLoss}): class indices or soft labels.
     * Refuses float targets against a one-column output, whose loss would be 0 whatever the model does (a
     * regression set trained with the default loss).
     */
    static Loss crossEntropy() {
        return (output, target) -> {
            if (target.dtype() == DType.FLOAT32
                    && output.shape().rank() >= 1
                    && output.shape().dim(-1) == 1) {
                throw new IllegalArgumentException("crossEntropy: one output column " + output.shape()
                        + " with FLOAT32 targets " + target.shape() + " gives a loss of 0 whatever the model does;"
                        + " for regression use Loss.mse() (Training.Config.withLoss)");
            }
            return output.crossEntropy(target);
        };
    }

    /** Mean squared error (PyTorch's {@code nn.MSELoss}): output and target of one shape. */
    static Loss mse() {
        return Functional::mseLoss;
    }
}
