package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import java.util.List;

/**
 * The transposed 2-D convolution behind {@link Functional#convTranspose2d}, built from the ordinary convolution's
 * three kernels: its forward is the convolution's data gradient, its input gradient the convolution's forward, its
 * weight gradient the convolution's filter gradient with input and output gradient swapped.
 *
 * <p>Shapes: {@code x [N, C, H, W]}, {@code weight [C, K/groups, R, S]}, {@code bias [K]} or null, result
 * {@code [N, K, Ho, Wo]} with {@code Ho = (H-1)*strideH - 2*padH + dilationH*(R-1) + outputPaddingH + 1}.
 *
 * <pre>{@code ConvTranspose.apply(x, w, null, new ConvParams(2, 2, 1, 1, 1, 1, 1), 1, 1)}</pre>
 */
final class ConvTranspose {
    private static final String OP = "convTranspose2d";

    private ConvTranspose() {}

    static Tensor apply(Tensor x, Tensor weight, Tensor bias, ConvParams p, int outPadH, int outPadW) {
        int[] xs = x.requireOpen(OP).shape().dims();
        int[] ws = weight.requireOpen(OP).shape().dims();
        requireFloat(x);
        requireFloat(weight);
        Backends.requireSame(OP, x.backend(), weight.backend());
        if (xs.length != 4 || ws.length != 4) {
            throw new IllegalArgumentException(OP + ": input " + x.shape() + " and weight " + weight.shape()
                    + " must both be 4-D (NCHW and [C, K/groups, R, S])");
        }
        int g = p.groups();
        if (xs[1] != ws[0]) {
            throw new IllegalArgumentException(OP + ": input " + x.shape() + " has " + xs[1] + " channels but weight "
                    + weight.shape() + " expects " + ws[0]);
        }
        if (ws[0] % g != 0) {
            throw new IllegalArgumentException(
                    OP + ": groups=" + g + " must divide the input's " + xs[1] + " channels (input " + x.shape() + ")");
        }
        int k = Math.multiplyExact(ws[1], g);
        if (bias != null) {
            bias.requireOpen(OP);
            requireFloat(bias);
            Backends.requireSame(OP, x.backend(), bias.backend());
            if (bias.shape().rank() != 1 || bias.shape().dim(0) != k) {
                throw new IllegalArgumentException(OP + ": bias " + bias.shape() + " must be [" + k + "]");
            }
        }
        if (outPadH < 0
                || outPadW < 0
                || (outPadH >= p.strideH() && outPadH >= p.dilationH())
                || (outPadW >= p.strideW() && outPadW >= p.dilationW())) {
            throw new IllegalArgumentException(OP + ": output padding " + outPadH + "x" + outPadW
                    + " must be >= 0 and smaller than either stride " + p.strideH() + "x" + p.strideW()
                    + " or dilation " + p.dilationH() + "x" + p.dilationW());
        }
        long oh = outSize(xs[2], p.strideH(), p.padH(), p.dilationH(), ws[2], outPadH);
        long ow = outSize(xs[3], p.strideW(), p.padW(), p.dilationW(), ws[3], outPadW);
        String given = OP + ": input " + x.shape() + " and weight " + weight.shape() + " with " + p
                + " and output padding " + outPadH + "x" + outPadW + " give an output of ";
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException(given + oh + "x" + ow + ", empty");
        }
        // Each size below 2^31, then the product in double: long products of two such sizes can wrap around.
        if (oh > Integer.MAX_VALUE || ow > Integer.MAX_VALUE || (double) xs[0] * k * oh * ow > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(given + "[" + xs[0] + ", " + k + ", " + oh + ", " + ow
                    + "], more than the 2^31-1 elements a tensor may hold");
        }
        int[] os = {xs[0], k, (int) oh, (int) ow};
        // The ordinary convolution of the output has H + outPadH / strideH rows: an output padding of a stride or
        // more (allowed below the dilation) reaches past the input, whose missing rows are zeros.
        Tensor in = padEnd(padEnd(x, 2, p.outH(os[2], ws[2]) - xs[2]), 3, p.outW(os[3], ws[3]) - xs[3]);
        return transposed(in, weight, bias, os, p);
    }

    /** {@code (in-1)*stride - 2*pad + dilation*(kernel-1) + outPad + 1} in long arithmetic. */
    private static long outSize(int in, int stride, int pad, int dilation, int kernel, int outPad) {
        return (in - 1L) * stride - 2L * pad + (long) dilation * (kernel - 1) + outPad + 1;
    }

    private static void requireFloat(Tensor t) {
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(OP + ": needs a FLOAT32 tensor, got " + t.dtype() + " " + t.shape());
        }
    }

    /** {@code x} with {@code extra} zero planes appended along {@code axis} (itself when {@code extra} is 0). */
    private static Tensor padEnd(Tensor x, int axis, int extra) {
        if (extra <= 0) {
            return x;
        }
        int[] zs = x.shape().dims();
        zs[axis] = extra;
        return Functional.cat(List.of(x, Tensor.zeros(x.backend(), zs)), axis);
    }

    /**
     * The transposed convolution plus {@code bias} (null for none), {@code x} already as tall and wide as the
     * convolution of the output expects.
     */
    private static Tensor transposed(Tensor x, Tensor weight, Tensor bias, int[] os, ConvParams p) {
        Backend be = x.backend();
        int[] xs = x.shape().dims();
        int[] ws = weight.shape().dims();
        Tensor xd = x.dense();
        Tensor wd = weight.dense();
        Tensor out = Tensor.empty(be, DType.FLOAT32, os);
        be.conv2dBackwardData(xd.operand(), wd.operand(), out.operand(), p);
        if (bias != null) {
            // bias[k] on every pixel of channel k: the bias's elements spread by a stride-0 layout, added in place
            Layout bl = bias.layout();
            Layout spread = new Layout(os.clone(), new int[] {0, bl.strides()[0], 0, 0}, bl.offset());
            be.binary(BinaryOp.ADD, out.operand(), new Operand(bias.operand().storage(), spread), out.operand());
        }
        return Autograd.record(
                out,
                OP,
                d -> {
                    Tensor dd = d.dense();
                    Tensor dx = null;
                    if (x.requiresGrad()) {
                        dx = Tensor.empty(be, DType.FLOAT32, xs);
                        be.conv2d(dd.operand(), wd.operand(), null, dx.operand(), p);
                    }
                    Tensor dw = null;
                    if (weight.requiresGrad()) {
                        dw = Tensor.empty(be, DType.FLOAT32, ws);
                        be.conv2dBackwardFilter(dd.operand(), xd.operand(), dw.operand(), null, p);
                    }
                    Tensor db = bias != null && bias.requiresGrad() ? dd.sum(new int[] {0, 2, 3}, false) : null;
                    return new Tensor[] {dx, dw, db};
                },
                bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias});
    }
}
