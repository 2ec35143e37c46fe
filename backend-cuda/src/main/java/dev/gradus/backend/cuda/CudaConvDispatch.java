package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaLauncher.THREADS;
import static dev.gradus.backend.cuda.CudaOperands.addr;
import static dev.gradus.backend.cuda.CudaOperands.written;

import dev.gradus.backend.cuda.CudaLauncher.L;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.BatchNormDims;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;

/**
 * Convolution, pooling and batch norm: convolution to cuDNN ({@link CudnnConv}), pooling and batch norm to Gradus'
 * kernels (the SPI's max pooling keeps an arg-max, which cuDNN's does not).
 */
final class CudaConvDispatch {
    private final CudaLauncher launcher;
    private final CudnnConv conv;

    CudaConvDispatch(CudaLauncher launcher, CudnnConv conv) {
        this.launcher = launcher;
        this.conv = conv;
    }

    void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p) {
        Operand.requireDense("conv2d", x, w, bias, out);
        conv.forward(addr(x), x.shape(), addr(w), w.shape(), addr(bias), addr(out), out.shape(), p);
    }

    void conv2dBackwardData(Operand dOut, Operand w, Operand dx, ConvParams p) {
        Operand.requireDense("conv2dBackwardData", dOut, w, dx);
        conv.backwardData(addr(dOut), dOut.shape(), addr(w), w.shape(), addr(dx), dx.shape(), p);
    }

    void conv2dBackwardFilter(Operand x, Operand dOut, Operand dw, Operand dBias, ConvParams p) {
        Operand.requireDense("conv2dBackwardFilter", x, dOut, dw, dBias);
        conv.backwardFilter(addr(x), x.shape(), addr(dOut), dOut.shape(), addr(dw), dw.shape(), addr(dBias), p);
    }

    void pool2d(PoolOp op, Operand x, Operand out, Operand argmax, PoolParams p) {
        Operand.requireDense("pool2d", x, out, argmax);
        if (argmax != null) {
            written(argmax.storage());
        }
        int[] xShape = x.shape();
        int[] outShape = out.shape();
        int planes = xShape[0] * xShape[1];
        long total = (long) planes * outShape[2] * outShape[3];
        if (total == 0) {
            return;
        }
        launcher.launchOver(
                "gradus_pool2d",
                total,
                op.ordinal(),
                new L(addr(x)),
                planes,
                xShape[2],
                xShape[3],
                new L(addr(out)),
                new L(op == PoolOp.MAX ? addr(argmax) : 0L),
                outShape[2],
                outShape[3],
                p.kernelH(),
                p.kernelW(),
                p.strideH(),
                p.strideW(),
                p.padH(),
                p.padW());
    }

    void pool2dBackward(PoolOp op, Operand dOut, Operand argmax, Operand dx, PoolParams p) {
        Operand.requireDense("pool2dBackward", dOut, argmax, dx);
        int[] xShape = dx.shape();
        int[] outShape = dOut.shape();
        int planes = xShape[0] * xShape[1];
        long total = (long) planes * xShape[2] * xShape[3];
        if (total == 0) {
            return;
        }
        launcher.launchOver(
                "gradus_pool2d_backward",
                total,
                op.ordinal(),
                new L(addr(dOut)),
                new L(op == PoolOp.MAX ? addr(argmax) : 0L),
                planes,
                xShape[2],
                xShape[3],
                new L(addr(dx)),
                outShape[2],
                outShape[3],
                p.kernelH(),
                p.kernelW(),
                p.strideH(),
                p.strideW(),
                p.padH(),
                p.padW());
    }

    void batchNormTrain(Operand x, Operand out, BatchNormArgs p) {
        BatchNormDims d = BatchNormDims.of("batchNormTrain", x, p, out);
        if (d.n() * (long) d.hw() < 1) {
            throw new IllegalArgumentException("batchNorm: no values per channel");
        }
        if (d.c() == 0) {
            return;
        }
        launcher.launch(
                "gradus_bn_train",
                d.c(),
                THREADS,
                0,
                new L(addr(x)),
                d.n(),
                d.c(),
                d.hw(),
                new L(addr(p.gamma())),
                new L(addr(p.beta())),
                p.eps(),
                p.momentum(),
                new L(addr(p.runningMean())),
                new L(addr(p.runningVar())),
                new L(addr(out)),
                new L(addr(p.saveMean())),
                new L(addr(p.saveInvStd())));
    }

    void batchNormBackward(Operand x, Operand dOut, BatchNormArgs p, Operand dx, Operand dGamma, Operand dBeta) {
        BatchNormDims d = BatchNormDims.of("batchNormBackward", x, p, dOut, dx, dGamma, dBeta);
        if (d.c() == 0) {
            return;
        }
        launcher.launch(
                "gradus_bn_backward",
                d.c(),
                THREADS,
                0,
                new L(addr(x)),
                new L(addr(dOut)),
                d.n(),
                d.c(),
                d.hw(),
                new L(addr(p.gamma())),
                new L(addr(p.saveMean())),
                new L(addr(p.saveInvStd())),
                new L(addr(dx)),
                new L(addr(dGamma)),
                new L(addr(dBeta)));
    }

    /** cuDNN handles made so far, idle now; for tests. */
    int idleHandles() {
        return conv.idleHandles();
    }

    /** Convolution shapes planned so far. */
    int plans() {
        return conv.plans();
    }
}
