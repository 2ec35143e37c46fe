package dev.gradus.nn;

import dev.gradus.Functional;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.PoolParams;

/**
 * Average pooling, PyTorch's {@code nn.AvgPool2d} (floor mode, padded zeros counted).
 *
 * <p>{@code new AvgPool2d(2)}: {@code [N, C, H, W] -> [N, C, H/2, W/2]}
 */
public class AvgPool2d extends Module {
    private final PoolParams params;

    /** Kernel {@code k}, stride {@code k}, no padding. */
    public AvgPool2d(int k) {
        this(k, k, 0);
    }

    /** Kernel, stride and padding. */
    public AvgPool2d(int kernel, int stride, int padding) {
        this.params = new PoolParams(kernel, kernel, stride, stride, padding, padding);
    }

    /** Kernel, stride and padding (padded zeros count in the average, as PyTorch's default). */
    public PoolParams params() {
        return params;
    }

    @Override
    public Tensor forward(Tensor x) {
        return traced(Functional.avgPool2d(x, params));
    }

    @Override
    public Shape outputShape(Shape in) {
        return Shape.of(in.dim(0), in.dim(1), params.outH(in.dim(2)), params.outW(in.dim(3)));
    }

    @Override
    public String describe() {
        return "AvgPool2d(" + params.kernelH() + ")";
    }
}
