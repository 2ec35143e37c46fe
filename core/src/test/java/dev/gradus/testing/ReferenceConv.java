package dev.gradus.testing;

import static dev.gradus.testing.ReferenceBackend.floats;
import static dev.gradus.testing.ReferenceBackend.ints;

import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;

/**
 * The reference backend's convolution (forward and both gradients) and pooling, as direct loops over dense NCHW
 * arrays.
 *
 * <p>The convolution is one sum, {@code out[n, k, y, x] = bias[k] + sum over (ci, r, s) of
 * x[n, g*C/groups + ci, y*strideH - padH + r*dilationH, x*strideW - padW + s*dilationW] * w[k, ci, r, s]} (positions
 * outside the input are zero padding). {@link #forEachTap} visits its terms; the forward pass and the two gradients
 * are that one visit read three ways, so they cannot disagree about which input meets which weight.
 */
final class ReferenceConv {
    private ReferenceConv() {}

    /** Called with the flat indices of one term of the convolution: input, weight and output element. */
    private interface Tap {
        void at(int xi, int wi, int oi);
    }

    /** Visits every term {@code x[xi] * w[wi]} of every output {@code out[oi]} (the seven loops of a convolution). */
    private static void forEachTap(int[] xs, int[] ws, int[] os, ConvParams p, Tap tap) {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
        int k = ws[0], cg = ws[1], r = ws[2], s = ws[3];
        int oh = os[2], ow = os[3];
        int kg = k / p.groups(); // output channels per group
        for (int in = 0; in < n; in++) {
            for (int ko = 0; ko < k; ko++) {
                int group = ko / kg;
                for (int y = 0; y < oh; y++) {
                    for (int xq = 0; xq < ow; xq++) {
                        int oi = ((in * k + ko) * oh + y) * ow + xq;
                        for (int ci = 0; ci < cg; ci++) {
                            int cin = group * cg + ci;
                            for (int ry = 0; ry < r; ry++) {
                                int iy = y * p.strideH() - p.padH() + ry * p.dilationH();
                                for (int sx = 0; sx < s; sx++) {
                                    int ix = xq * p.strideW() - p.padW() + sx * p.dilationW();
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < wd) {
                                        tap.at(
                                                ((in * c + cin) * h + iy) * wd + ix,
                                                ((ko * cg + ci) * r + ry) * s + sx,
                                                oi);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p) {
        Operand.requireDense("conv2d", x, w, bias, out);
        float[] xv = floats(x.storage());
        float[] wv = floats(w.storage());
        int[] os = out.shape();
        double[] acc = new double[out.numel()];
        if (bias != null) {
            float[] bv = floats(bias.storage());
            int plane = os[2] * os[3];
            for (int i = 0; i < acc.length; i++) {
                acc[i] = bv[(i / plane) % os[1]];
            }
        }
        forEachTap(x.shape(), w.shape(), os, p, (xi, wi, oi) -> acc[oi] += (double) xv[xi] * wv[wi]);
        copy(acc, floats(out.storage()));
    }

    /** {@code dx[xi] = sum of dOut[oi] * w[wi]} over the terms in which {@code x[xi]} takes part. */
    static void conv2dBackwardData(Operand dOut, Operand w, Operand dx, ConvParams p) {
        Operand.requireDense("conv2dBackwardData", dOut, w, dx);
        float[] dv = floats(dOut.storage());
        float[] wv = floats(w.storage());
        double[] acc = new double[dx.numel()];
        forEachTap(dx.shape(), w.shape(), dOut.shape(), p, (xi, wi, oi) -> acc[xi] += (double) dv[oi] * wv[wi]);
        copy(acc, floats(dx.storage()));
    }

    /**
     * {@code dw[wi] = sum of dOut[oi] * x[xi]} over the terms in which {@code w[wi]} takes part, and
     * {@code dBias[k]} the sum of {@code dOut}'s channel {@code k}.
     */
    static void conv2dBackwardFilter(Operand x, Operand dOut, Operand dw, Operand dBias, ConvParams p) {
        Operand.requireDense("conv2dBackwardFilter", x, dOut, dw, dBias);
        float[] xv = floats(x.storage());
        float[] dv = floats(dOut.storage());
        double[] acc = new double[dw.numel()];
        forEachTap(x.shape(), dw.shape(), dOut.shape(), p, (xi, wi, oi) -> acc[wi] += (double) dv[oi] * xv[xi]);
        copy(acc, floats(dw.storage()));
        if (dBias != null) {
            int[] os = dOut.shape();
            int plane = os[2] * os[3];
            double[] db = new double[os[1]];
            for (int i = 0; i < dOut.numel(); i++) {
                db[(i / plane) % os[1]] += dv[i];
            }
            copy(db, floats(dBias.storage()));
        }
    }

    /**
     * Each output is its window's maximum or mean over {@code kernelH * kernelW} (padded zeros counted); the maximum
     * is the first largest value, or a NaN if the window holds one (PyTorch's kernel takes each NaN it meets, so the
     * last), and {@code argmax} gets its index {@code h * W + w} in the input plane.
     */
    static void pool2d(PoolOp op, Operand x, Operand out, Operand argmax, PoolParams p) {
        Operand.requireDense("pool2d", x, out, argmax);
        float[] xv = floats(x.storage());
        float[] ov = floats(out.storage());
        int[] am = argmax == null ? null : ints(argmax.storage());
        int[] xs = x.shape();
        int h = xs[2], w = xs[3];
        int oh = out.shape()[2], ow = out.shape()[3];
        for (int plane = 0; plane < xs[0] * xs[1]; plane++) {
            for (int y = 0; y < oh; y++) {
                for (int xq = 0; xq < ow; xq++) {
                    double sum = 0;
                    double best = Double.NEGATIVE_INFINITY;
                    int bestAt = -1;
                    for (int r = 0; r < p.kernelH(); r++) {
                        for (int s = 0; s < p.kernelW(); s++) {
                            int iy = y * p.strideH() - p.padH() + r;
                            int ix = xq * p.strideW() - p.padW() + s;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                                double v = xv[plane * h * w + iy * w + ix];
                                sum += v;
                                if (bestAt < 0 || v > best || Double.isNaN(v)) {
                                    best = v;
                                    bestAt = iy * w + ix;
                                }
                            }
                        }
                    }
                    int oi = (plane * oh + y) * ow + xq;
                    ov[oi] = (float) (op == PoolOp.MAX ? best : sum / (p.kernelH() * p.kernelW()));
                    if (am != null) {
                        am[oi] = bestAt;
                    }
                }
            }
        }
    }

    /** Max: each output's gradient goes to its window's {@code argmax}; average: spread evenly over the window. */
    static void pool2dBackward(PoolOp op, Operand dOut, Operand argmax, Operand dx, PoolParams p) {
        Operand.requireDense("pool2dBackward", dOut, argmax, dx);
        float[] dv = floats(dOut.storage());
        int[] xs = dx.shape();
        int h = xs[2], w = xs[3];
        int oh = dOut.shape()[2], ow = dOut.shape()[3];
        double[] acc = new double[dx.numel()];
        for (int plane = 0; plane < xs[0] * xs[1]; plane++) {
            for (int y = 0; y < oh; y++) {
                for (int xq = 0; xq < ow; xq++) {
                    int oi = (plane * oh + y) * ow + xq;
                    if (op == PoolOp.MAX) {
                        acc[plane * h * w + ints(argmax.storage())[oi]] += dv[oi];
                        continue;
                    }
                    for (int r = 0; r < p.kernelH(); r++) {
                        for (int s = 0; s < p.kernelW(); s++) {
                            int iy = y * p.strideH() - p.padH() + r;
                            int ix = xq * p.strideW() - p.padW() + s;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                                acc[plane * h * w + iy * w + ix] += (double) dv[oi] / (p.kernelH() * p.kernelW());
                            }
                        }
                    }
                }
            }
        }
        copy(acc, floats(dx.storage()));
    }

    /** Rounds each double to float, into {@code dst}. */
    static void copy(double[] src, float[] dst) {
        for (int i = 0; i < src.length; i++) {
            dst[i] = (float) src[i];
        }
    }
}
