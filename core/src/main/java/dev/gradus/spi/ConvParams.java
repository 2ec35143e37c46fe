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
        return size(h, padH, dilationH, r, strideH);
    }

    /** Output width for input width {@code w} and kernel width {@code s}. */
    public int outW(int w, int s) {
        return size(w, padW, dilationW, s, strideW);
    }

    /**
     * The output size in long arithmetic, clamped to the int range: a huge dilation or padding must give a size the
     * caller refuses (below 1, or a shape too large), never one that wrapped around.
     */
    private static int size(int in, int pad, int dilation, int kernel, int stride) {
        long span = (long) dilation * (kernel - 1) + 1;
        long out = Math.floorDiv(in + 2L * pad - span, (long) stride) + 1;
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, out));
    }
}
