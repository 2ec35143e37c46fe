package dev.gradus.spi;

/**
 * Geometry of a 2-D convolution beyond the tensor shapes, PyTorch semantics.
 *
 * <p>Output size per axis: {@code floor((in + 2*pad - dilation*(kernel-1) - 1) / stride) + 1}.
 */
public record ConvParams(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups) {
    public ConvParams {
        if (strideH < 1 || strideW < 1 || padH < 0 || padW < 0 || dilationH < 1 || dilationW < 1 || groups < 1) {
            // The fields are not assigned yet: "this" would print zeros.
            throw new IllegalArgumentException("conv2d: need stride >= 1, padding >= 0, dilation >= 1, groups >= 1;"
                    + " got stride " + strideH + "x" + strideW + ", padding " + padH + "x" + padW + ", dilation "
                    + dilationH + "x" + dilationW + ", groups " + groups);
        }
    }

    /** Output height for input height {@code h} and kernel height {@code r}. */
    public int outH(int h, int r) {
        return Math.floorDiv(h + 2 * padH - dilationH * (r - 1) - 1, strideH) + 1;
    }

    /** Output width for input width {@code w} and kernel width {@code s}. */
    public int outW(int w, int s) {
        return Math.floorDiv(w + 2 * padW - dilationW * (s - 1) - 1, strideW) + 1;
    }
}
