package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.UnaryOp;
import java.util.Arrays;
import java.util.List;

/**
 * Differentiable operations beyond the elementwise ones, as {@code torch.nn.functional}: convolution (plain and
 * transposed), pooling, batch normalisation, dropout, log-softmax, cross-entropy and concatenation. Layers in
 * {@link dev.gradus.nn} wrap them.
 *
 * <p>Each is written with the public API only ({@link Autograd#record}, {@link Tensor#empty},
 * {@link Tensor#dense()}, {@link Tensor#operand()}), the way a user adds an op of their own. Image shapes are
 * NCHW: {@code x [N, C, H, W]}.
 *
 * <pre>{@code
 * Tensor y = Functional.conv2d(x, w, b, new ConvParams(1, 1, 1, 1, 1, 1, 1));   // 3x3, padding 1
 * Tensor p = Functional.maxPool2d(y, new PoolParams(2, 2, 2, 2, 0, 0));
 * }</pre>
 */
public final class Functional {
    private Functional() {}

    private static Operand operandOrNull(Tensor t) {
        return t == null ? null : t.operand();
    }

    private static Tensor emptyFloat(Backend be, int... shape) {
        return Tensor.empty(be, DType.FLOAT32, shape);
    }

    private static void requireSameBackend(String op, Tensor a, Tensor b) {
        b.requireOpen(op);
        Backends.requireSame(op, a.backend(), b.backend());
    }

    private static void requireFloat(String op, Tensor t) {
        t.requireOpen(op);
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(op + ": needs a FLOAT32 tensor, got " + t.dtype() + " " + t.shape());
        }
    }

    /**
     * Matrix product with batch broadcasting, as {@code torch.matmul}: {@code [..., M, K] x [..., K, N] ->
     * [..., M, N]}; a 1-D operand is treated as a row (left) or column (right) vector and its axis dropped.
     *
     * <pre>{@code Functional.matmul(x, w.t())   // [32, 784] x [784, 48] -> [32, 48]}</pre>
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        requireFloat("matmul", a);
        requireFloat("matmul", b);
        requireSameBackend("matmul", a, b);
        Shape as = a.shape();
        Shape bs = b.shape();
        if (as.rank() == 0 || bs.rank() == 0) {
            throw new IllegalArgumentException("matmul: scalars are not matrices: " + as + " x " + bs);
        }
        if (as.rank() == 1) {
            Tensor r = matmul(a.unsqueeze(0), b);
            return r.squeeze(r.shape().rank() - 2);
        }
        if (bs.rank() == 1) {
            Tensor r = matmul(a, b.unsqueeze(1));
            return r.squeeze(r.shape().rank() - 1);
        }
        Shape[] shapes = Shape.matmul(as, bs);
        Tensor out = emptyFloat(a.backend(), shapes[0].dims());
        a.backend()
                .matmul(
                        new Operand(a.operand().storage(), a.layout().broadcastTo(shapes[1].dims())),
                        new Operand(b.operand().storage(), b.layout().broadcastTo(shapes[2].dims())),
                        out.operand());
        return Autograd.record(
                out,
                "matmul",
                d -> new Tensor[] {
                    a.requiresGrad()
                            ? (isTransposedMatrix(a)
                                            ? matmul(b, d.transpose(-1, -2)).transpose(-1, -2)
                                            : matmul(d, b.transpose(-1, -2)))
                                    .sumTo(as)
                            : null,
                    b.requiresGrad()
                            ? (isTransposedMatrix(b)
                                            ? matmul(d.transpose(-1, -2), a).transpose(-1, -2)
                                            : matmul(a.transpose(-1, -2), d))
                                    .sumTo(bs)
                            : null
                },
                a,
                b);
    }

    /**
     * True for a transposed matrix view ({@code w.t()}): its gradient is then computed transposed, so it lands
     * in the memory order of the tensor it views.
     */
    private static boolean isTransposedMatrix(Tensor t) {
        int[] sh = t.layout().shape();
        int[] st = t.layout().strides();
        int r = sh.length;
        return r >= 2 && st[r - 2] == 1 && sh[r - 1] > 1 && sh[r - 2] > 1;
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
     * Transposed 2-D convolution ({@code F.conv_transpose2d}), the gradient of {@link #conv2d} with respect to its
     * input: each input pixel adds its weighted kernel into the output at {@code stride} steps, {@code p}'s padding
     * cropped from the output's borders and {@code outputPaddingH x outputPaddingW} extra rows and columns at its
     * bottom and right (each below the stride or the dilation).
     *
     * <p>Shapes: {@code x [N, C, H, W]}, {@code weight [C, K/groups, R, S]}, {@code bias [K]} or null, result
     * {@code [N, K, Ho, Wo]} with {@code Ho = (H-1)*strideH - 2*padH + dilationH*(R-1) + outputPaddingH + 1}.
     *
     * <pre>{@code
     * // w [16, 8, 3, 3]: [N, 16, 7, 7] -> [N, 8, 14, 14]
     * Tensor y = Functional.convTranspose2d(x, w, b, new ConvParams(2, 2, 1, 1, 1, 1, 1), 1, 1);
     * }</pre>
     */
    public static Tensor convTranspose2d(
            Tensor x, Tensor weight, Tensor bias, ConvParams p, int outputPaddingH, int outputPaddingW) {
        return ConvTranspose.apply(x, weight, bias, p, outputPaddingH, outputPaddingW);
    }

    /** {@link #convTranspose2d(Tensor, Tensor, Tensor, ConvParams, int, int)} without output padding. */
    public static Tensor convTranspose2d(Tensor x, Tensor weight, Tensor bias, ConvParams p) {
        return convTranspose2d(x, weight, bias, p, 0, 0);
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
        ConvCall c = new ConvCall(op, x, weight, bias, p, relu);
        Tensor out = c.out;
        return Autograd.record(
                out,
                op,
                // ReLU's gradient from its output, as Tensor.relu takes it.
                d -> c.backward(relu ? d.applyKernel(BinaryOp.RELU_GRAD, out) : d.dense()),
                c.inputs());
    }

    /**
     * {@code maxPool2d(relu(conv2d(x, weight, bias, cp)), pp)} as one op, with the same values and gradients;
     * {@link dev.gradus.nn.Sequential} uses it for {@code Conv2d}, {@code ReLU}, {@code MaxPool2d} in a row.
     *
     * <p>Why one op: ReLU runs inside the convolution (oneDNN's post-op, no pass of its own), the convolution's
     * output is released as soon as the pooling has read it (the pooling's backward needs only the window maxima's
     * positions), and ReLU's gradient is taken on the 4x smaller pooled output: at each window's maximum, ReLU's
     * derivative is {@code out > 0}, and elsewhere the pooling's gradient is zero anyway.
     *
     * <p>Shapes: {@code x [N, C, H, W]}, {@code weight [K, C/groups, R, S]}, {@code bias [K]} or null, result
     * {@code [N, K, P', Q']} where {@code P, Q} is the convolution's output and {@code P', Q'} the pooling's.
     *
     * <pre>{@code Tensor y = Functional.conv2dReluMaxPool2d(x, w, b, new ConvParams(1, 1, 1, 1, 1, 1, 1),
     *         new PoolParams(2, 2, 2, 2, 0, 0));}</pre>
     */
    public static Tensor conv2dReluMaxPool2d(Tensor x, Tensor weight, Tensor bias, ConvParams cp, PoolParams pp) {
        String op = "conv2dReluMaxPool2d";
        ConvCall c = new ConvCall(op, x, weight, bias, cp, true);
        Tensor a = c.out;
        int[] as = a.shape().dims();
        int[] os = poolShape(op, a.shape(), pp);
        Backend be = x.backend();
        Tensor out = emptyFloat(be, os);
        Tensor argmax = Tensor.empty(be, DType.INT32, os);
        be.pool2d(PoolOp.MAX, a.operand(), out.operand(), argmax.operand(), pp);
        a.close();
        return Autograd.record(
                out,
                op,
                d -> {
                    Tensor masked = d.applyKernel(BinaryOp.RELU_GRAD, out);
                    Tensor dA = emptyFloat(be, as);
                    be.pool2dBackward(PoolOp.MAX, masked.operand(), argmax.operand(), dA.operand(), pp);
                    masked.close();
                    Tensor[] g = c.backward(dA);
                    dA.close();
                    return g;
                },
                c.inputs());
    }

    /** A convolution's checked arguments and output, and its backward from the output's gradient. */
    private static final class ConvCall {
        final int[] xs;
        final int[] ws;
        final Tensor x;
        final Tensor xd;
        final Tensor weight;
        final Tensor wd;
        final Tensor bias;
        final ConvParams p;
        final Tensor out;

        ConvCall(String op, Tensor x, Tensor weight, Tensor bias, ConvParams p, boolean relu) {
            xs = x.requireOpen(op).shape().dims();
            ws = weight.requireOpen(op).shape().dims();
            if (xs.length != 4 || ws.length != 4) {
                throw new IllegalArgumentException(op + ": input " + x.shape() + " and weight " + weight.shape()
                        + " must both be 4-D (NCHW and [K, C/groups, R, S])");
            }
            if (xs[1] != ws[1] * p.groups() || ws[0] % p.groups() != 0) {
                throw new IllegalArgumentException(op + ": input " + x.shape() + " has " + xs[1]
                        + " channels but weight " + weight.shape() + " with groups=" + p.groups() + " expects "
                        + ws[1] * p.groups());
            }
            if (bias != null && (bias.shape().rank() != 1 || bias.shape().dim(0) != ws[0])) {
                throw new IllegalArgumentException(op + ": bias " + bias.shape() + " must be [" + ws[0] + "]");
            }
            int oh = p.outH(xs[2], ws[2]);
            int ow = p.outW(xs[3], ws[3]);
            if (oh < 1 || ow < 1) {
                throw new IllegalArgumentException(op + ": input " + x.shape() + " is too small for weight "
                        + weight.shape() + " with " + p + " (output " + oh + "x" + ow + ")");
            }
            if ((long) oh * ow > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(op + ": input " + x.shape() + " and weight " + weight.shape()
                        + " with " + p + " give an output of " + oh + "x" + ow + ", too large for a tensor");
            }
            this.x = x;
            this.weight = weight;
            this.bias = bias;
            this.p = p;
            Backend be = x.backend();
            xd = x.dense();
            wd = weight.dense();
            Tensor bd = bias == null ? null : bias.dense();
            out = emptyFloat(be, xs[0], ws[0], oh, ow);
            be.conv2d(
                    xd.operand(),
                    wd.operand(),
                    operandOrNull(bd),
                    out.operand(),
                    p,
                    relu ? UnaryOp.RELU : UnaryOp.IDENTITY);
        }

        /** The op's inputs for {@link Autograd#record}, in the order {@link #backward} returns their gradients. */
        Tensor[] inputs() {
            return bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        }

        /** Gradients of x, weight and bias (null where not needed) from {@code dd}, the output's dense gradient. */
        Tensor[] backward(Tensor dd) {
            Backend be = x.backend();
            Tensor dx = null;
            if (x.requiresGrad()) {
                dx = emptyFloat(be, xs);
                be.conv2dBackwardData(dd.operand(), wd.operand(), dx.operand(), p);
            }
            Tensor dw = null;
            Tensor db = null;
            if (weight.requiresGrad() || (bias != null && bias.requiresGrad())) {
                dw = emptyFloat(be, ws);
                db = bias == null ? null : emptyFloat(be, ws[0]);
                be.conv2dBackwardFilter(xd.operand(), dd.operand(), dw.operand(), operandOrNull(db), p);
            }
            return new Tensor[] {dx, dw, db};
        }
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
        int[] xs = x.requireOpen(name).shape().dims();
        int[] os = poolShape(name, x.shape(), p);
        Backend be = x.backend();
        Tensor out = emptyFloat(be, os);
        Tensor argmax = op == PoolOp.MAX ? Tensor.empty(be, DType.INT32, os) : null;
        be.pool2d(op, x.dense().operand(), out.operand(), operandOrNull(argmax), p);
        return Autograd.record(
                out,
                name,
                d -> {
                    Tensor dx = emptyFloat(be, xs);
                    be.pool2dBackward(op, d.dense().operand(), operandOrNull(argmax), dx.operand(), p);
                    return new Tensor[] {dx};
                },
                x);
    }

    /** The pooled shape of {@code in}, checked. */
    private static int[] poolShape(String name, Shape in, PoolParams p) {
        int[] xs = in.dims();
        if (xs.length != 4) {
            throw new IllegalArgumentException(name + ": input " + in + " must be 4-D NCHW");
        }
        int oh = p.outH(xs[2]);
        int ow = p.outW(xs[3]);
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException(
                    name + ": input " + in + " is smaller than the " + p.kernelH() + "x" + p.kernelW() + " window");
        }
        return new int[] {xs[0], xs[1], oh, ow};
    }

    /**
     * Batch normalisation over the channel axis 1 of {@code x [N, C, ...]}.
     *
     * <p>In training it normalises with the batch statistics (biased variance) and, when {@code runningMean} is
     * given, updates the running statistics in place with {@code momentum} (unbiased variance, as PyTorch); in
     * evaluation it uses the running statistics. {@code gamma}/{@code beta} are {@code [C]} or null.
     */
    public static Tensor batchNorm(
            Tensor x,
            Tensor gamma,
            Tensor beta,
            Tensor runningMean,
            Tensor runningVar,
            boolean training,
            float momentum,
            float eps) {
        int[] xs = x.requireOpen("batchNorm").shape().dims();
        if (xs.length < 2) {
            throw new IllegalArgumentException("batchNorm: input " + x.shape() + " needs a channel axis: [N, C, ...]");
        }
        int n = xs[0];
        int c = xs[1];
        int hw = c == 0 ? 0 : x.numel() / Math.max(1, n * c);
        for (Tensor t : new Tensor[] {gamma, beta, runningMean, runningVar}) {
            if (t != null && (t.shape().rank() != 1 || t.shape().dim(0) != c)) {
                throw new IllegalArgumentException("batchNorm: input " + x.shape() + " has " + c
                        + " channels but a parameter or statistic has shape " + t.shape());
            }
        }
        Backend be = x.backend();
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
            // One pass over x (x * g + shift per channel) where two broadcast ops took two: in bn-cnn's evaluation
            // they were 0.51 of 0.88 s per 10,000 images.
            Tensor xd = x.dense();
            Tensor scale = g.dense();
            Tensor offset = shift.dense();
            Tensor out = emptyFloat(be, xs);
            be.channelAffine(xd.operand(), scale.operand(), offset.operand(), out.operand());
            Shape perChannel = Shape.of(bshape);
            return Autograd.record(
                    out,
                    "batchNormEval",
                    d -> new Tensor[] {
                        d.mul(scale.reshape(bshape)),
                        d.mul(xd).sumTo(perChannel).reshape(c),
                        d.sumTo(perChannel).reshape(c)
                    },
                    xd,
                    scale,
                    offset);
        }
        if (n * hw < 2) {
            throw new IllegalArgumentException(
                    "batchNorm: training needs more than one value per channel, got input " + x.shape());
        }
        Tensor xd = x.dense();
        Tensor gd = gamma == null ? null : gamma.dense();
        Tensor out = emptyFloat(be, xs);
        Tensor mean = emptyFloat(be, c);
        Tensor invStd = emptyFloat(be, c);
        BatchNormArgs args = new BatchNormArgs(
                operandOrNull(gd),
                beta == null ? null : beta.dense().operand(),
                operandOrNull(runningMean),
                operandOrNull(runningVar),
                mean.operand(),
                invStd.operand(),
                eps,
                momentum);
        be.batchNormTrain(xd.operand(), out.operand(), args);
        return Autograd.record(
                out,
                "batchNorm",
                d -> {
                    Tensor dx = emptyFloat(be, xs);
                    Tensor dGamma = gamma == null ? null : emptyFloat(be, c);
                    Tensor dBeta = beta == null ? null : emptyFloat(be, c);
                    be.batchNormBackward(
                            xd.operand(),
                            d.dense().operand(),
                            // Built from the tensors, not the forward's args: the closure must hold them live.
                            new BatchNormArgs(
                                    operandOrNull(gd), null, null, null, mean.operand(), invStd.operand(), eps, 0f),
                            dx.operand(),
                            operandOrNull(dGamma),
                            operandOrNull(dBeta));
                    return new Tensor[] {dx, dGamma, dBeta};
                },
                x,
                gamma,
                beta);
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
            // nextFloat() < keep, as integers and without a branch (half the time, the same masks)
            float scale = 1f / keep;
            long below = (long) Math.ceil(keep * 0x1.0p24);
            for (int i = 0; i < mask.length; i++) {
                mask[i] = scale * (float) (((rng.nextLong() >>> 40) - below) >>> 63);
            }
        }
        return x.mul(Tensor.of(x.backend(), mask, x.shape().dims()));
    }

    /**
     * {@code log(softmax(x))} along {@code axis}, computed stably; gradient {@code d - softmax * rowsum(d)}.
     *
     * <p>Shapes: any; the result has {@code x}'s. {@code Functional.logSoftmax(logits, -1)}
     */
    public static Tensor logSoftmax(Tensor x, int axis) {
        requireFloat("logSoftmax", x);
        int a = x.shape().normalizeAxis(axis, "logSoftmax");
        if (a != x.shape().rank() - 1) {
            return logSoftmax(x.transpose(a, -1), -1).transpose(a, -1);
        }
        Tensor xd = x.dense();
        Tensor out = emptyFloat(x.backend(), x.shape().dims());
        x.backend().logSoftmax(xd.operand(), out.operand());
        return Autograd.record(
                out, "logSoftmax", d -> new Tensor[] {d.sub(out.exp().mul(d.sum(-1, true)))}, x);
    }

    /**
     * Mean squared error {@code mean((prediction - target)^2)} over every element, as PyTorch's {@code mse_loss}; the
     * shapes must match (a {@code [N, 1]} prediction against an {@code [N]} target would broadcast to
     * {@code [N, N]}, so it is refused).
     *
     * <pre>{@code Tensor loss = Functional.mseLoss(model.forward(x), y);   // [N, 1] and [N, 1]}</pre>
     */
    public static Tensor mseLoss(Tensor prediction, Tensor target) {
        requireFloat("mseLoss", prediction);
        requireFloat("mseLoss", target);
        if (!prediction.shape().equals(target.shape())) {
            throw new IllegalArgumentException(
                    "mseLoss: prediction " + prediction.shape() + " and target " + target.shape() + " differ");
        }
        return prediction.sub(target).pow(2f).mean();
    }

    /**
     * Mean softmax cross-entropy of logits {@code [N, C]} against integer labels {@code [N]} (INT32) or target
     * distributions {@code [N, C]} (one-hot or soft, FLOAT32); gradient {@code (softmax * rowsum(target) - target) / N}
     * as PyTorch's, which is {@code (softmax - target) / N} for rows summing to 1.
     *
     * <pre>{@code Tensor loss = Functional.crossEntropy(model.forward(x), labels);}</pre>
     */
    public static Tensor crossEntropy(Tensor logits, Tensor target) {
        requireFloat("crossEntropy", logits);
        requireSameBackend("crossEntropy", logits, target);
        Shape shape = logits.shape();
        if (shape.rank() != 2) {
            throw new IllegalArgumentException("crossEntropy: logits must be [N, C], got " + shape);
        }
        int n = shape.dim(0);
        boolean labels = target.dtype() == DType.INT32;
        Tensor onehot;
        if (labels) {
            if (target.shape().rank() != 1 || target.shape().dim(0) != n) {
                throw new IllegalArgumentException(
                        "crossEntropy: logits " + shape + " need labels [" + n + "], got " + target.shape());
            }
            onehot = emptyFloat(logits.backend(), shape.dims());
            try {
                logits.backend().oneHot(target.dense().operand(), onehot.operand());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("crossEntropy: " + e.getMessage(), e);
            }
        } else {
            if (target.shape().rank() == 1 && target.shape().dim(0) == n) {
                // PyTorch: "expected scalar type Long but found Float" for class indices of the wrong type.
                throw new IllegalArgumentException("crossEntropy: labels " + target.shape() + " must be INT32 class"
                        + " indices (Tensor.ofInts), got " + target.dtype() + "; a FLOAT32 target must be"
                        + " distributions shaped like the logits " + shape);
            }
            if (!target.shape().equals(shape)) {
                throw new IllegalArgumentException("crossEntropy: logits " + shape + " need INT32 labels [" + n
                        + "] or FLOAT32 target distributions " + shape + ", got " + target.dtype() + " "
                        + target.shape());
            }
            onehot = target;
        }
        Tensor logp;
        Tensor loss;
        float invN = 1f / Math.max(1, n);
        try (GradMode ng = GradMode.noGrad()) {
            logp = logSoftmax(logits, 1);
            loss = logp.mul(onehot).sum().mul(-invN);
        }
        return Autograd.record(
                loss,
                "crossEntropy",
                d -> {
                    // d/dlogits of -sum(t * logSoftmax) is softmax * rowsum(t) - t, which is softmax - t only for rows
                    // summing to 1 (labels and one-hot targets).
                    Tensor p = logp.exp();
                    Tensor g = (labels ? p : p.mul(onehot.sum(1, true)))
                            .sub(onehot)
                            .mul(d.mul(invN));
                    return new Tensor[] {g, null};
                },
                logits,
                target);
    }

    /**
     * Joins tensors along {@code axis}; all other dimensions, the type and the backend must agree.
     *
     * <p>Shapes: {@code [2, 3]} and {@code [4, 3]} on axis 0 give {@code [6, 3]}.
     */
    public static Tensor cat(List<Tensor> parts, int axis) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("cat: no tensors");
        }
        Tensor first = parts.get(0).requireOpen("cat");
        int a = first.shape().normalizeAxis(axis, "cat");
        int[] dims = first.shape().dims();
        int total = 0;
        for (Tensor p : parts) {
            requireSameBackend("cat", first, p);
            if (p.shape().rank() != dims.length || p.dtype() != first.dtype()) {
                throw new IllegalArgumentException(
                        "cat: " + first.shape() + " and " + p.shape() + " differ in rank or type");
            }
            for (int i = 0; i < dims.length; i++) {
                if (i != a && p.shape().dim(i) != dims[i]) {
                    throw new IllegalArgumentException(
                            "cat: " + first.shape() + " and " + p.shape() + " differ on axis " + i);
                }
            }
            total += p.shape().dim(a);
        }
        dims[a] = total;
        Tensor out = Tensor.empty(first.backend(), first.dtype(), dims);
        Tensor[] inputs = parts.toArray(new Tensor[0]);
        int[] starts = new int[inputs.length];
        try (GradMode ng = GradMode.noGrad()) {
            int pos = 0;
            for (int i = 0; i < inputs.length; i++) {
                starts[i] = pos;
                out.narrow(a, pos, inputs[i].shape().dim(a)).copyFrom(inputs[i]);
                pos += inputs[i].shape().dim(a);
            }
        }
        return Autograd.record(
                out,
                "cat",
                d -> {
                    Tensor[] g = new Tensor[inputs.length];
                    for (int i = 0; i < inputs.length; i++) {
                        g[i] = inputs[i].requiresGrad()
                                ? d.narrow(a, starts[i], inputs[i].shape().dim(a))
                                        .contiguous()
                                : null;
                    }
                    return g;
                },
                inputs);
    }
}
