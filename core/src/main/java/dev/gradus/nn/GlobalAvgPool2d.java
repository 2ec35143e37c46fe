package dev.gradus.nn;

import dev.gradus.Shape;
import dev.gradus.Tensor;

/**
 * Mean over each channel's plane: {@code [N, C, H, W] -> [N, C]} (PyTorch's {@code AdaptiveAvgPool2d(1)} followed
 * by a flatten).
 *
 * <p>{@code new GlobalAvgPool2d()}
 */
public class GlobalAvgPool2d extends Module {
    @Override
    public Tensor forward(Tensor x) {
        if (x.shape().rank() != 4) {
            throw new IllegalArgumentException("GlobalAvgPool2d: expected [N, C, H, W], got " + x.shape());
        }
        return traced(x.reshape(x.shape().dim(0), x.shape().dim(1), -1).mean(2, false));
    }

    @Override
    public Shape outputShape(Shape in) {
        return Shape.of(in.dim(0), in.dim(1));
    }
}
