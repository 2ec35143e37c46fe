package dev.gradus.nn;

import dev.gradus.Shape;
import dev.gradus.Tensor;

/**
 * Flattens all axes but the first: {@code [N, C, H, W] -> [N, C*H*W]}.
 *
 * <p>{@code new Sequential(new Flatten(), new Dense(784, 10))}
 */
public final class Flatten extends Module {
    @Override
    public Tensor forward(Tensor x) {
        return traced(x.flatten());
    }

    @Override
    public Shape outputShape(Shape input) {
        return Shape.of(input.dim(0), input.numel() / Math.max(1, input.dim(0)));
    }
}
