package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;

import dev.gradus.spi.IndexOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/** Ops that address by integer index: one-hot encoding, gather and scatter-add along an axis. */
final class CpuIndexing {
    private CpuIndexing() {}

    static void oneHot(Operand labels, Operand out) {
        Operand.requireDense("oneHot", labels, out);
        int n = out.shape()[0];
        int classes = out.shape()[1];
        int offset = 0;
        IntBuffer lab = plain(labels.storage()).i;
        FloatBuffer o = plain(out.storage()).f;
        for (int r = 0; r < n; r++) {
            int y = lab.get(offset + r);
            if (y < 0 || y >= classes) {
                throw new IllegalArgumentException(
                        "label " + y + " at index " + r + " is outside [0, " + classes + ")");
            }
        }
        for (int r = 0; r < n; r++) {
            int y = lab.get(offset + r);
            int base = r * classes;
            for (int c = 0; c < classes; c++) {
                o.put(base + c, c == y ? 1f : 0f);
            }
        }
    }

    static void index(IndexOp op, int axis, Operand x, Operand index, Operand out) {
        Layout il = index.layout();
        boolean gather = op == IndexOp.GATHER;
        Layout addressed = gather ? x.layout() : out.layout();
        Layout walked = gather ? out.layout() : x.layout();
        IntBuffer idx = plain(index.storage()).i;
        FloatBuffer xf = plain(x.storage()).f;
        FloatBuffer of = plain(out.storage()).f;
        op.check(axis, il, idx::get, addressed.shape()[axis]); // before anything is written
        int[] c = new int[il.rank()];
        for (int i = 0, n = il.numel(); i < n; i++, Layout.next(c, il.shape())) {
            int k = idx.get(il.offsetOf(c));
            int at = addressed.offsetOf(c) + (k - c[axis]) * addressed.strides()[axis];
            int w = walked.offsetOf(c);
            if (gather) {
                of.put(w, xf.get(at));
            } else {
                of.put(at, of.get(at) + xf.get(w));
            }
        }
    }
}
