package dev.gradus.nn;

import dev.gradus.Functional;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.PoolParams;

/**
 * Max pooling, PyTorch's {@code nn.MaxPool2d} with floor mode: stride defaults to the kernel, {@code [N, C, 7, 7]}
 * with kernel 2 gives {@code [N, C, 3, 3]}.
 *
 * <p>{@code new MaxPool2d(2)}
 */
public class MaxPool2d extends Module {
    private final PoolParams params;

    /** Kernel {@code k}, stride {@code k}, no padding. */
    public MaxPool2d(int k) {
        this(k, k, 0);
    }

    /** Kernel, stride and padding (at most half the kernel). */
    public MaxPool2d(int kernel, int stride, int padding) {
        this.params = new PoolParams(kernel, kernel, stride, stride, padding, padding);
    }

    /** Kernel, stride and padding. */
    public PoolParams params() {
        return params;
    }

    @Override
    public Tensor forward(Tensor x) {
        return traced(Functional.maxPool2d(x, params));
    }

    @Override
    public Shape outputShape(Shape in) {
        return Shape.of(in.dim(0), in.dim(1), params.outH(in.dim(2)), params.outW(in.dim(3)));
    }

    @Override
    public String describe() {
        return "MaxPool2d(" + params.kernelH()
                + (params.strideH() != params.kernelH() ? ", stride " + params.strideH() : "")
                + (params.padH() != 0 ? ", pad " + params.padH() : "") + ")";
    }
}
