package dev.gradus.train;

/**
 * Training stopped because the loss became NaN or infinite (as Keras's {@code TerminateOnNaN}); the message names
 * the steps and the learning rate. An application may add its own hint, such as its learning-rate option.
 */
public class TrainingDivergedException extends IllegalStateException {
    public TrainingDivergedException(String message) {
        super(message);
    }
}
