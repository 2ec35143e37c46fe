package dev.gradus.spi;

/**
 * Geometry of 2-D pooling, PyTorch semantics with floor mode: output size per axis
 * {@code floor((in + 2*pad - kernel) / stride) + 1} (7x7 with kernel 2 gives 3x3). Average pooling counts padded
 * zeros (PyTorch's {@code count_include_pad=True}).
 */
public record PoolParams(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) {
    public PoolParams {
        if (kernelH < 1
                || kernelW < 1
                || strideH < 1
                || strideW < 1
                || padH < 0
                || padW < 0
                || padH * 2 > kernelH
                || padW * 2 > kernelW) {
            // The fields are not assigned yet: "this" would print zeros.
            throw new IllegalArgumentException("pool2d: invalid kernel " + kernelH + "x" + kernelW + ", stride "
                    + strideH + "x" + strideW + ", padding " + padH + "x" + padW
                    + " (kernel and stride >= 1, padding at most half the kernel)");
        }
    }

    /** Output height for input height {@code h}. */
    public int outH(int h) {
        return size(h, padH, kernelH, strideH);
    }

    /** Output width for input width {@code w}. */
    public int outW(int w) {
        return size(w, padW, kernelW, strideW);
    }

    /** The output size in long arithmetic, clamped to the int range (so a huge padding never wraps around). */
    private static int size(int in, int pad, int kernel, int stride) {
        long out = Math.floorDiv(in + 2L * pad - kernel, (long) stride) + 1;
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, out));
    }
}
