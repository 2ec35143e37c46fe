package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.asStored;
import static dev.gradus.backend.cpu.CpuStorage.plain;
import static dev.gradus.backend.cpu.CpuStorage.plainOrNull;
import static dev.gradus.backend.cpu.CpuStorage.stored;

import dev.gradus.backend.cpu.CpuStorage.Plain;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.BatchNormDims;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.UnaryOp;

/**
 * Routes convolution, pooling and batch norm (forward and backward) to oneDNN when it is loaded and takes the case,
 * else to the Java kernels ({@link CpuConv}, {@link CpuPool}, {@link CpuBatchNorm}); oneDNN ops get their operands
 * as stored (possibly blocked), the Java kernels in plain order.
 */
final class CpuConvDispatch {
    private final CpuConv conv;
    private final CpuPool pool;
    private final CpuBatchNorm batchNorm;
    private final CpuElementwise elementwise;
    /** Null without oneDNN, as are the two below. */
    private final DnnlConv dnnlConv;

    private final DnnlPool dnnlPool;
    private final DnnlBatchNorm dnnlBatchNorm;

    CpuConvDispatch(
            CpuAllocator allocator,
            Parallel parallel,
            CpuElementwise elementwise,
            DnnlConv dnnlConv,
            DnnlPool dnnlPool,
            DnnlBatchNorm dnnlBatchNorm) {
        this.conv = new CpuConv(allocator, parallel);
        this.pool = new CpuPool(parallel);
        this.batchNorm = new CpuBatchNorm(parallel);
        this.elementwise = elementwise;
        this.dnnlConv = dnnlConv;
        this.dnnlPool = dnnlPool;
        this.dnnlBatchNorm = dnnlBatchNorm;
    }

    /**
     * A convolution with an optional fused activation; false, doing nothing, for an activation this class does not
     * fuse (the caller then runs the convolution and the activation one after the other).
     */
    boolean conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p, UnaryOp activation) {
        Operand.requireDense("conv2d", x, w, bias, out);
        boolean relu = activation == UnaryOp.RELU;
        ConvShapes shapes = new ConvShapes(x.shape(), w.shape(), out.shape(), p);
        if (dnnlConv != null && (relu || activation == UnaryOp.IDENTITY)) {
            // oneDNN's ReLU post-op is max(x, 0), which turns NaN into 0 (measured: one NaN weight gave finite
            // logits). With a NaN or an infinity among the inputs (the only way to a NaN output but an
            // overflow to +inf and -inf within one sum) the convolution runs unfused and ReLU in Java keeps NaN.
            boolean finiteInputs =
                    NanScans.finite(asStored(x)) && NanScans.finite(plain(w)) && NanScans.finite(plainOrNull(bias));
            boolean fuse = relu && finiteInputs;
            if (dnnlConv.forward(
                    shapes, asStored(x), plain(w).storage, stored(plainOrNull(bias)), asStored(out), fuse)) {
                if (relu && !fuse) {
                    elementwise.unary(UnaryOp.RELU, 0f, out, out);
                } else if (finiteInputs) {
                    asStored(out).markFinite();
                }
                return true;
            }
        }
        if (activation != UnaryOp.IDENTITY) {
            return false; // unfused
        }
        conv.forward(shapes, plain(x), plain(w), plainOrNull(bias), plain(out));
        return true;
    }

    void conv2dBackwardData(Operand dOut, Operand w, Operand dx, ConvParams p) {
        Operand.requireDense("conv2dBackwardData", dOut, w, dx);
        ConvShapes shapes = new ConvShapes(dx.shape(), w.shape(), dOut.shape(), p);
        if (dnnlConv == null || !dnnlConv.backwardData(shapes, asStored(dOut), plain(w).storage, asStored(dx))) {
            conv.backwardData(shapes, plain(dOut), plain(w), plain(dx));
        }
    }

    void conv2dBackwardFilter(Operand x, Operand dOut, Operand dw, Operand dBias, ConvParams p) {
        Operand.requireDense("conv2dBackwardFilter", x, dOut, dw, dBias);
        ConvShapes shapes = new ConvShapes(x.shape(), dw.shape(), dOut.shape(), p);
        if (dnnlConv == null
                || !dnnlConv.backwardWeights(
                        shapes, asStored(x), asStored(dOut), plain(dw).storage, stored(plainOrNull(dBias)))) {
            conv.backwardFilter(shapes, plain(x), plain(dOut), plain(dw), plainOrNull(dBias));
        }
    }

    void pool2d(PoolOp op, Operand x, Operand out, Operand argmax, PoolParams p) {
        Operand.requireDense("pool2d", x, out, argmax);
        // oneDNN's max pooling never takes a NaN (its compare is false for NaN): measured, a NaN in a window
        // gave the window's largest number. An input holding NaN goes to the Java kernel, where NaN wins.
        if (op == PoolOp.MAX
                && dnnlPool != null
                && argmax != null
                && asStored(x).layout() != null
                && (asStored(x).knownFinite() || !NanScans.hasNaN(asStored(x)))
                && dnnlPool.maxForward(asStored(x), x.shape(), asStored(out), out.shape(), asStored(argmax), p)) {
            if (asStored(x).knownFinite()) {
                asStored(out).markFinite();
            }
            return;
        }
        pool.pool(op, plain(x), x.shape(), plain(out), out.shape(), plainOrNull(argmax), p);
    }

    void pool2dBackward(PoolOp op, Operand dOut, Operand argmax, Operand dx, PoolParams p) {
        Operand.requireDense("pool2dBackward", dOut, argmax, dx);
        if (op == PoolOp.MAX
                && dnnlPool != null
                && argmax != null
                && dnnlPool.maxBackward(asStored(dOut), asStored(argmax), asStored(dx))) {
            return;
        }
        pool.poolBackward(op, plain(dOut), dOut.shape(), plainOrNull(argmax), plain(dx), dx.shape(), p);
    }

    void batchNormTrain(Operand x, Operand out, BatchNormArgs p) {
        BnCall b = bnCall(BatchNormDims.of("batchNormTrain", x, p, out), p);
        boolean finiteInput = asStored(x).knownFinite();
        if (dnnlBatchNorm != null && dnnlBatchNorm.train(asStored(x), asStored(out), b)) {
            // Normalised finite values scaled and shifted by finite parameters stay finite: the next max
            // pooling may skip its NaN scan (bn-cnn: Conv+ReLU, BatchNorm, MaxPool).
            if (finiteInput && NanScans.finite(b.gamma()) && NanScans.finite(b.beta())) {
                asStored(out).markFinite();
            }
        } else {
            batchNorm.batchNormTrain(plain(x), plain(out), b);
        }
    }

    void batchNormBackward(Operand x, Operand dOut, BatchNormArgs p, Operand dx, Operand dGamma, Operand dBeta) {
        BnCall b = bnCall(BatchNormDims.of("batchNormBackward", x, p, dOut, dx, dGamma, dBeta), p);
        Plain dg = plainOrNull(dGamma);
        Plain db = plainOrNull(dBeta);
        if (dnnlBatchNorm == null
                || !dnnlBatchNorm.backward(asStored(x), asStored(dOut), b, asStored(dx), stored(dg), stored(db))) {
            batchNorm.batchNormBackward(plain(x), plain(dOut), b, plain(dx), dg, db);
        }
    }

    private static BnCall bnCall(BatchNormDims d, BatchNormArgs p) {
        return new BnCall(
                d.n(),
                d.c(),
                d.hw(),
                plainOrNull(p.gamma()),
                plainOrNull(p.beta()),
                plainOrNull(p.runningMean()),
                plainOrNull(p.runningVar()),
                plainOrNull(p.saveMean()),
                plainOrNull(p.saveInvStd()),
                p.eps(),
                p.momentum());
    }
}
