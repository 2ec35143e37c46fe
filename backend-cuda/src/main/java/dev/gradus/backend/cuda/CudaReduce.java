package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaLauncher.THREADS;
import static dev.gradus.backend.cuda.CudaOperands.cuda;
import static dev.gradus.backend.cuda.CudaOperands.written;

import dev.gradus.backend.cuda.CudaLauncher.L;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.ReduceOp;

/** Reductions along one axis (sum, max, argmax): one block per output element. */
final class CudaReduce {
    private final CudaLauncher launcher;

    CudaReduce(CudaLauncher launcher) {
        this.launcher = launcher;
    }

    void reduce(ReduceOp op, Operand x, int axis, Operand out) {
        Layout xLayout = x.layout();
        int outOffset = out.layout().offset();
        CudaStorage xs = cuda(x.storage());
        CudaStorage os = written(out.storage());
        int[] shape = xLayout.shape();
        int outer = xLayout.outer(axis);
        int inner = xLayout.inner(axis);
        long outputs = (long) outer * inner;
        if (outputs == 0) {
            return;
        }
        launcher.launch(
                "gradus_reduce",
                (int) outputs,
                THREADS,
                0,
                op.ordinal(),
                new L(xs.address),
                new L(xLayout.offset()),
                outer,
                shape[axis],
                inner,
                new L(os.address),
                new L(outOffset));
    }
}
