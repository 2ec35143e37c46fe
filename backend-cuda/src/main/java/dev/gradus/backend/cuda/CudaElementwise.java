package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaOperands.addr;
import static dev.gradus.backend.cuda.CudaOperands.cuda;
import static dev.gradus.backend.cuda.CudaOperands.written;

import dev.gradus.DType;
import dev.gradus.backend.cuda.CudaLauncher.L;
import dev.gradus.spi.BatchNormDims;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.UnaryOp;

/**
 * Elementwise kernels: fill, unary ops (and dtype conversion), binary ops with broadcasting views, the per-channel
 * affine map; dense operands take the kernels' faster contiguous form.
 */
final class CudaElementwise {
    private final CudaLauncher launcher;

    CudaElementwise(CudaLauncher launcher) {
        this.launcher = launcher;
    }

    void fill(Operand dst, float value) {
        Layout layout = dst.layout();
        CudaStorage d = written(dst.storage());
        long n = layout.numel();
        if (n == 0) {
            return;
        }
        if (d.dtype() == DType.INT32) {
            launcher.launchOver("gradus_fill_int", n, new L(d.address), layout, new L(n), (int) value);
        } else {
            launcher.launchOver("gradus_fill", n, new L(d.address), layout, new L(n), value);
        }
    }

    void unary(UnaryOp op, float scalar, Operand x, Operand out) {
        Layout xLayout = x.layout();
        Layout outLayout = out.layout();
        CudaStorage xs = cuda(x.storage());
        CudaStorage os = written(out.storage());
        long n = outLayout.numel();
        if (n == 0) {
            return;
        }
        if (xs.dtype() == DType.INT32 || os.dtype() == DType.INT32) {
            if (op != UnaryOp.IDENTITY) {
                throw new IllegalArgumentException("cuda backend: " + op + " on INT32 storage");
            }
            int mode = xs.dtype() == DType.INT32 ? (os.dtype() == DType.INT32 ? 2 : 0) : 1;
            launcher.launchOver(
                    "gradus_convert", n, mode, new L(xs.address), xLayout, new L(os.address), outLayout, new L(n));
            return;
        }
        if (dense(xLayout) && dense(outLayout)) {
            launcher.launchOver(
                    "gradus_unary_dense",
                    n,
                    op.ordinal(),
                    scalar,
                    new L(xs.at(xLayout.offset())),
                    new L(os.at(outLayout.offset())),
                    new L(n));
        } else {
            launcher.launchOver(
                    "gradus_unary",
                    n,
                    op.ordinal(),
                    scalar,
                    new L(xs.address),
                    xLayout,
                    new L(os.address),
                    outLayout,
                    new L(n));
        }
    }

    void binary(BinaryOp op, Operand a, Operand b, Operand out) {
        Layout aLayout = a.layout();
        Layout bLayout = b.layout();
        Layout outLayout = out.layout();
        CudaStorage as = cuda(a.storage());
        CudaStorage bs = cuda(b.storage());
        CudaStorage os = cuda(out.storage());
        long n = outLayout.numel();
        if (n == 0) {
            return;
        }
        if (as.dtype() != DType.FLOAT32 || bs.dtype() != DType.FLOAT32 || os.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException("cuda backend: " + op + " needs FLOAT32 storages");
        }
        if (dense(aLayout) && dense(bLayout) && dense(outLayout)) {
            launcher.launchOver(
                    "gradus_binary_dense",
                    n,
                    op.ordinal(),
                    new L(as.at(aLayout.offset())),
                    new L(bs.at(bLayout.offset())),
                    new L(os.at(outLayout.offset())),
                    new L(n));
        } else {
            launcher.launchOver(
                    "gradus_binary",
                    n,
                    op.ordinal(),
                    new L(as.address),
                    aLayout,
                    new L(bs.address),
                    bLayout,
                    new L(os.address),
                    outLayout,
                    new L(n));
        }
    }

    void channelAffine(Operand x, Operand scale, Operand shift, Operand out) {
        BatchNormDims d = BatchNormDims.of("channelAffine", x, scale, shift, out);
        long total = (long) d.n() * d.c() * d.hw();
        if (total == 0) {
            return;
        }
        launcher.launchOver(
                "gradus_channel_affine",
                total,
                new L(addr(x)),
                d.n(),
                d.c(),
                d.hw(),
                new L(addr(scale)),
                new L(addr(shift)),
                new L(addr(out)));
    }

    private static boolean dense(Layout l) {
        return l.isContiguous();
    }
}
