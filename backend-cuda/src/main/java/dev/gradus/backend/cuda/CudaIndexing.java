package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaOperands.addr;
import static dev.gradus.backend.cuda.CudaOperands.checkRange;
import static dev.gradus.backend.cuda.CudaOperands.cuda;
import static dev.gradus.backend.cuda.CudaOperands.written;

import dev.gradus.backend.cuda.CudaLauncher.L;
import dev.gradus.spi.IndexOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.Storage;

/**
 * One-hot, gather and scatter; indices and labels are checked on the host (the host's copy when it wrote them, else
 * read back), so the message names the bad one as the CPU backend's does.
 */
final class CudaIndexing {
    private final CudaLauncher launcher;
    private final CudaTransfers transfers;

    CudaIndexing(CudaLauncher launcher, CudaTransfers transfers) {
        this.launcher = launcher;
        this.transfers = transfers;
    }

    void index(IndexOp op, int axis, Operand x, Operand index, Operand out) {
        Layout il = index.layout();
        boolean gather = op == IndexOp.GATHER;
        Layout addressed = gather ? x.layout() : out.layout();
        // Indices are checked on the host (read back unless the host wrote them), so the message names the bad
        // one.
        CudaStorage is = cuda(index.storage());
        int[] host = is.hostInts;
        if (host == null) {
            host = new int[is.numel()];
            transfers.readInts(is, 0, host, 0, host.length);
        }
        int[] values = host;
        op.check(axis, il, o -> values[o], addressed.shape()[axis]);
        long n = il.numel();
        if (n == 0) {
            return;
        }
        CudaStorage os = written(out.storage());
        launcher.launchOver(
                "gradus_index",
                n,
                op.ordinal(),
                axis,
                new L(cuda(x.storage()).address),
                x.layout(),
                new L(is.address),
                il,
                new L(os.address),
                out.layout(),
                new L(n));
    }

    void oneHot(Operand labelsOperand, Operand out) {
        Operand.requireDense("oneHot", labelsOperand, out);
        Storage labels = labelsOperand.storage();
        int offset = 0;
        int n = out.shape()[0];
        int classes = out.shape()[1];
        // Labels are checked on the host, so that the message names the bad one as the CPU backend's does.
        // Labels the host wrote are checked against its copy, without waiting for the device; labels a kernel
        // made (an argmax) are read back first.
        CudaStorage ls = cuda(labels);
        checkRange(ls, offset, n, "oneHot");
        int[] known = ls.hostInts;
        int[] host;
        int from;
        if (known != null) {
            host = known;
            from = offset;
        } else {
            host = new int[n];
            transfers.readInts(labels, offset, host, 0, n);
            from = 0;
        }
        for (int r = 0; r < n; r++) {
            int label = host[from + r];
            if (label < 0 || label >= classes) {
                throw new IllegalArgumentException(
                        "label " + label + " at index " + r + " is outside [0, " + classes + ")");
            }
        }
        if (n == 0) {
            return;
        }
        launcher.launchOver("gradus_one_hot", (long) n * classes, new L(ls.at(offset)), n, classes, new L(addr(out)));
    }
}
