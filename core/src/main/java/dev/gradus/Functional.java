package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.UnaryOp;
import java.util.Arrays;

/**
 * Differentiable operations on image batches, as {@code torch.nn.functional}: convolution, pooling, batch
 * normalisation and dropout. Layers in {@link dev.gradus.nn} wrap them.
 *
 * <p>Shapes are NCHW: {@code x [N, C, H, W]}.
 *
 * <pre>{@code
 * Tensor y = Functional.conv2d(x, w, b, new ConvParams(1, 1, 1, 1, 1, 1, 1));   // 3x3, padding 1
 * Tensor p = Functional.maxPool2d(y, new PoolParams(2, 2, 2, 2, 0, 0));
 * }</pre>
 */
public final class Functional {
    private Functional() {
    }

    private static int[] dims(Tensor t) {
        return t.shape.dims();
    }

    /**
     * 2-D convolution (cross-correlation) with PyTorch semantics.
     *
     * <p>Shapes: {@code x [N, C, H, W]}, {@code weight [K, C/groups, R, S]}, {@code bias [K]} or null, result
     * {@code [N, K, P, Q]}.
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, ConvParams p) {
        return conv2d(x, weight, bias, p, false);
    }

    /**
     * {@code relu(conv2d(x, weight, bias, p))} in one pass where the backend fuses the two (oneDNN does), with the
     * same values and gradients; {@link dev.gradus.nn.Sequential} uses it for a {@code Conv2d} followed by a
     * {@code ReLU}.
     *
     * <p>Shapes as {@link #conv2d(Tensor, Tensor, Tensor, ConvParams)}.
     */
    public static Tensor conv2dRelu(Tensor x, Tensor weight, Tensor bias, ConvParams p) {
        return conv2d(x, weight, bias, p, true);
    }

    private static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, ConvParams p, boolean relu) {
        String op = relu ? "conv2dRelu" : "conv2d";
        x.check(op);
        weight.check(op);
        int[] xs = dims(x);
        int[] ws = dims(weight);
        if (xs.length != 4 || ws.length != 4) {
            throw new IllegalArgumentException(op + ": input " + x.shape + " and weight " + weight.shape
                    + " must both be 4-D (NCHW and [K, C/groups, R, S])");
        }
        if (xs[1] != ws[1] * p.groups() || ws[0] % p.groups() != 0) {
            throw new IllegalArgumentException(op + ": input " + x.shape + " has " + xs[1] + " channels but weight "
                    + weight.shape + " with groups=" + p.groups() + " expects " + ws[1] * p.groups());
        }
        if (bias != null && (bias.shape.rank() != 1 || bias.shape.dim(0) != ws[0])) {
            throw new IllegalArgumentException(op + ": bias " + bias.shape + " must be [" + ws[0] + "]");
        }
        int oh = p.outH(xs[2], ws[2]);
        int ow = p.outW(xs[3], ws[3]);
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException(op + ": input " + x.shape + " is too small for kernel "
                    + ws[2] + "x" + ws[3] + " with " + p + " (output " + oh + "x" + ow + ")");
        }
        Backend be = x.backend;
        Tensor xd = x.denseRaw();
        Tensor wd = weight.denseRaw();
        Tensor bd = bias == null ? null : bias.denseRaw();
        int[] os = {xs[0], ws[0], oh, ow};
        Tensor out = Tensor.empty(be, Shape.of(os), DType.FLOAT32);
        be.conv2d(xd.storage(), xs, wd.storage(), ws, bd == null ? null : bd.storage(), out.storage(), os, p,
                relu ? UnaryOp.RELU : UnaryOp.IDENTITY);
        Tensor[] inputs = bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        return Tensor.record(out, op, d -> {
            // ReLU's gradient from its output, as Tensor.relu takes it.
            Tensor dd = relu ? d.binaryRaw("relu", BinaryOp.RELU_GRAD, out) : d.denseRaw();
            Tensor dx = null;
            if (x.requiresGrad) {
                dx = Tensor.empty(be, x.shape, DType.FLOAT32);
                be.conv2dBackwardData(dd.storage(), os, wd.storage(), ws, dx.storage(), xs, p);
            }
            Tensor dw = null;
            Tensor db = null;
            if (weight.requiresGrad || (bias != null && bias.requiresGrad)) {
                dw = Tensor.empty(be, weight.shape, DType.FLOAT32);
                db = bias == null ? null : Tensor.empty(be, bias.shape, DType.FLOAT32);
                be.conv2dBackwardFilter(xd.storage(), xs, dd.storage(), os, dw.storage(), ws,
                        db == null ? null : db.storage(), p);
            }
            return bias == null ? new Tensor[] {dx, dw} : new Tensor[] {dx, dw, db};
        }, inputs);
    }

    /** Max pooling; the gradient goes to the (first) maximum of each window. */
    public static Tensor maxPool2d(Tensor x, PoolParams p) {
        return pool2d(PoolOp.MAX, x, p);
    }

    /** Average pooling, padded zeros counted (PyTorch's default). */
    public static Tensor avgPool2d(Tensor x, PoolParams p) {
        return pool2d(PoolOp.AVG, x, p);
    }

    private static Tensor pool2d(PoolOp op, Tensor x, PoolParams p) {
        String name = op == PoolOp.MAX ? "maxPool2d" : "avgPool2d";
        x.check(name);
        int[] xs = dims(x);
        if (xs.length != 4) {
            throw new IllegalArgumentException(name + ": input " + x.shape + " must be 4-D NCHW");
        }
        int oh = p.outH(xs[2]);
        int ow = p.outW(xs[3]);
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException(name + ": input " + x.shape + " is smaller than the " + p.kernelH()
                    + "x" + p.kernelW() + " window");
        }
        Backend be = x.backend;
        Tensor xd = x.denseRaw();
        int[] os = {xs[0], xs[1], oh, ow};
        Tensor out = Tensor.empty(be, Shape.of(os), DType.FLOAT32);
        Tensor argmax = op == PoolOp.MAX ? Tensor.empty(be, Shape.of(os), DType.INT32) : null;
        be.pool2d(op, xd.storage(), xs, out.storage(), os, argmax == null ? null : argmax.storage(), p);
        return Tensor.record(out, name, d -> {
            Tensor dx = Tensor.empty(be, x.shape, DType.FLOAT32);
            be.pool2dBackward(op, d.denseRaw().storage(), os, argmax == null ? null : argmax.storage(), dx.storage(),
                    xs, p);
            return new Tensor[] {dx};
        }, x);
    }

    /**
     * Batch normalisation over the channel axis 1 of {@code x [N, C, ...]}.
     *
     * <p>In training it normalises with the batch statistics (biased variance) and, when {@code runningMean} is
     * given, updates the running statistics in place with {@code momentum} (unbiased variance, as PyTorch); in
     * evaluation it uses the running statistics. {@code gamma}/{@code beta} are {@code [C]} or null.
     */
    public static Tensor batchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                   boolean training, float momentum, float eps) {
        x.check("batchNorm");
        int[] xs = dims(x);
        if (xs.length < 2) {
            throw new IllegalArgumentException("batchNorm: input " + x.shape + " needs a channel axis: [N, C, ...]");
        }
        int n = xs[0];
        int c = xs[1];
        int hw = c == 0 ? 0 : x.numel() / Math.max(1, n * c);
        for (Tensor t : new Tensor[] {gamma, beta, runningMean, runningVar}) {
            if (t != null && (t.shape.rank() != 1 || t.shape.dim(0) != c)) {
                throw new IllegalArgumentException("batchNorm: input " + x.shape + " has " + c
                        + " channels but a parameter or statistic has shape " + t.shape);
            }
        }
        Backend be = x.backend;
        if (!training) {
            if (runningMean == null || runningVar == null) {
                throw new IllegalStateException("batchNorm: evaluation mode needs running statistics");
            }
            int[] bshape = new int[xs.length];
            Arrays.fill(bshape, 1);
            bshape[1] = c;
            Tensor inv = runningVar.add(eps).pow(-0.5f);
            Tensor g = gamma == null ? inv : gamma.mul(inv);
            Tensor shift = runningMean.mul(g).neg();
            if (beta != null) {
                shift = shift.add(beta);
            }
            return x.mul(g.reshape(bshape)).add(shift.reshape(bshape));
        }
        if (n * hw < 2) {
            throw new IllegalArgumentException("batchNorm: training needs more than one value per channel, got input "
                    + x.shape);
        }
        Tensor xd = x.denseRaw();
        Tensor gd = gamma == null ? null : gamma.denseRaw();
        Tensor out = Tensor.empty(be, x.shape, DType.FLOAT32);
        Tensor mean = Tensor.empty(be, Shape.of(c), DType.FLOAT32);
        Tensor invStd = Tensor.empty(be, Shape.of(c), DType.FLOAT32);
        be.batchNormTrain(xd.storage(), n, c, hw, gd == null ? null : gd.storage(),
                beta == null ? null : beta.denseRaw().storage(), eps, momentum,
                runningMean == null ? null : runningMean.storage(), runningVar == null ? null : runningVar.storage(),
                out.storage(), mean.storage(), invStd.storage());
        Tensor[] inputs = {x, gamma, beta};
        return Tensor.record(out, "batchNorm", d -> {
            Tensor dx = Tensor.empty(be, x.shape, DType.FLOAT32);
            Tensor dGamma = gamma == null ? null : Tensor.empty(be, Shape.of(c), DType.FLOAT32);
            Tensor dBeta = beta == null ? null : Tensor.empty(be, Shape.of(c), DType.FLOAT32);
            be.batchNormBackward(xd.storage(), d.denseRaw().storage(), n, c, hw, gd == null ? null : gd.storage(),
                    mean.storage(), invStd.storage(), dx.storage(), dGamma == null ? null : dGamma.storage(),
                    dBeta == null ? null : dBeta.storage());
            return new Tensor[] {dx, dGamma, dBeta};
        }, inputs);
    }

    /**
     * Inverted dropout: in training, zeroes each element with probability {@code p} (drawn from {@code rng}) and
     * scales the rest by {@code 1/(1-p)}; otherwise returns {@code x}.
     */
    public static Tensor dropout(Tensor x, float p, boolean training, Rng rng) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("dropout: probability must be in [0, 1], got " + p);
        }
        if (!training || p == 0f) {
            return x;
        }
        float keep = 1f - p;
        float[] mask = new float[x.numel()];
        if (keep > 0f) {
            float scale = 1f / keep;
            for (int i = 0; i < mask.length; i++) {
                mask[i] = rng.nextFloat() < keep ? scale : 0f;
            }
        }
        return x.mul(Tensor.of(x.backend, mask, x.shape.dims()));
    }
}
