package anchors;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.UniformInitializer;

/**
 * PyTorch's default initialisation, set on a DJL block's parameters before the trainer initialises them
 * (Gradus's {@code Init.PYTORCH}: weights and biases uniform in +-1/sqrt(fanIn)).
 */
final class TorchInit {
    private TorchInit() {}

    /** Every weight of {@code block} uniform in +-weightBound, every bias in +-biasBound (0: zeros). */
    static <B extends Block> B uniform(B block, double weightBound, double biasBound) {
        for (Parameter p : block.getParameters().values()) {
            if (p.getType() == Parameter.Type.WEIGHT) {
                p.setInitializer(new UniformInitializer((float) weightBound));
            } else if (p.getType() == Parameter.Type.BIAS) {
                p.setInitializer(biasBound == 0 ? Initializer.ZEROS : new UniformInitializer((float) biasBound));
            } else {
                throw new IllegalStateException("TorchInit: unexpected parameter " + p.getName() + " " + p.getType());
            }
        }
        return block;
    }

    /** nn.Linear / nn.Conv2d / nn.LSTM default: weights and biases uniform in +-1/sqrt(fanIn). */
    static <B extends Block> B pytorch(B block, int fanIn) {
        double b = 1.0 / Math.sqrt(fanIn);
        return uniform(block, b, b);
    }
}
