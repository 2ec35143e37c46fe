package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaLauncher.THREADS;
import static dev.gradus.backend.cuda.CudaOperands.addr;

import dev.gradus.backend.cuda.CudaLauncher.L;
import dev.gradus.spi.Operand;

/** Log-softmax over the last axis: one block per row. */
final class CudaSoftmax {
    private final CudaLauncher launcher;

    CudaSoftmax(CudaLauncher launcher) {
        this.launcher = launcher;
    }

    void logSoftmax(Operand x, Operand out) {
        Operand.requireDense("logSoftmax", x, out);
        int[] shape = x.shape();
        int cols = shape.length == 0 ? 1 : shape[shape.length - 1];
        int rows = cols == 0 ? 0 : x.numel() / cols;
        if (rows == 0) {
            return;
        }
        launcher.launch(
                "gradus_log_softmax",
                rows,
                THREADS,
                0,
                new L(addr(x)),
                new L(0),
                rows,
                cols,
                new L(addr(out)),
                new L(0));
    }
}
