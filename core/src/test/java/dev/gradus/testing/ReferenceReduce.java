package dev.gradus.testing;

import static dev.gradus.testing.ReferenceBackend.floats;
import static dev.gradus.testing.ReferenceBackend.ints;
import static dev.gradus.testing.ReferenceBackend.load;
import static dev.gradus.testing.ReferenceBackend.store;

import dev.gradus.spi.IndexOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.ReduceOp;

/**
 * The reference backend's ops that combine elements: reductions along an axis, matrix products, log-softmax,
 * one-hot and gather/scatter-add.
 *
 * <p>Sums run in double in index order. The maximum follows PyTorch: NaN wins (the first NaN, for its index), ties
 * go to the first maximum.
 */
final class ReferenceReduce {
    private ReferenceReduce() {}

    /** {@code out[c] = op over k of x[c with k inserted at axis]}, for every coordinate {@code c} of {@code out}. */
    static void reduce(ReduceOp op, Operand x, int axis, Operand out) {
        int len = x.shape()[axis];
        if (len == 0 && op != ReduceOp.SUM) {
            throw new IllegalArgumentException("reference backend: " + op + " over an empty axis has no value");
        }
        int[] c = new int[out.layout().rank()];
        int[] xc = new int[x.layout().rank()];
        for (int i = 0, n = out.numel(); i < n; i++, Layout.next(c, out.shape())) {
            // x's coordinates: c's with the reduced axis inserted at position `axis`. Core also passes out with
            // that axis kept (size 1) for sum(axis, true): the same elements in the same order.
            boolean kept = c.length == xc.length;
            for (int d = 0; d < xc.length; d++) {
                xc[d] = d < axis || kept ? c[d] : d > axis ? c[d - 1] : 0;
            }
            double sum = 0;
            double max = len == 0 ? 0 : load(x, xc); // x[..., 0, ...] (an empty axis only sums)
            int argmax = 0;
            for (int k = 0; k < len; k++) {
                xc[axis] = k;
                double v = load(x, xc);
                sum += v;
                if (!Double.isNaN(max) && (v > max || Double.isNaN(v))) {
                    max = v;
                    argmax = k;
                }
            }
            store(out, c, op == ReduceOp.SUM ? sum : op == ReduceOp.MAX ? max : argmax);
        }
    }

    /**
     * {@code out[..., i, j] = sum_q a[..., i, q] * b[..., q, j]}; the three operands have the same batch dimensions
     * (stride 0 where a batch is broadcast).
     */
    static void matmul(Operand a, Operand b, Operand out) {
        int r = out.layout().rank();
        int k = a.shape()[r - 1];
        int[] c = new int[r];
        for (int i = 0, n = out.numel(); i < n; i++, Layout.next(c, out.shape())) {
            int[] ac = c.clone(); // [..., i, q]
            int[] bc = c.clone(); // [..., q, j]
            double acc = 0;
            for (int q = 0; q < k; q++) {
                ac[r - 1] = q;
                bc[r - 2] = q;
                acc += load(a, ac) * load(b, bc);
            }
            store(out, c, acc);
        }
    }

    /** {@code out = (x - max) - log(sum(exp(x - max)))} along the last axis of dense rows. */
    static void logSoftmax(Operand x, Operand out) {
        Operand.requireDense("logSoftmax", x, out);
        float[] xv = floats(x.storage());
        float[] ov = floats(out.storage());
        int[] shape = x.shape();
        int cols = shape.length == 0 ? 1 : shape[shape.length - 1];
        int rows = cols == 0 ? 0 : x.numel() / cols;
        for (int row = 0; row < rows; row++) {
            int base = row * cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                max = Math.max(max, xv[base + j]);
            }
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                sum += Math.exp(xv[base + j] - max);
            }
            for (int j = 0; j < cols; j++) {
                ov[base + j] = (float) (xv[base + j] - max - Math.log(sum));
            }
        }
    }

    /** {@code out[r, c] = labels[r] == c ? 1 : 0}, after checking every label. */
    static void oneHot(Operand labels, Operand out) {
        Operand.requireDense("oneHot", labels, out);
        int[] y = ints(labels.storage());
        float[] o = floats(out.storage());
        int n = out.shape()[0];
        int classes = out.shape()[1];
        for (int r = 0; r < n; r++) {
            if (y[r] < 0 || y[r] >= classes) {
                throw new IllegalArgumentException(
                        "label " + y[r] + " at index " + r + " is outside [0, " + classes + ")");
            }
        }
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < classes; c++) {
                o[r * classes + c] = y[r] == c ? 1f : 0f;
            }
        }
    }

    /**
     * For every coordinate {@code p} of {@code index}, with {@code q = p} but {@code q[axis] = index[p]}: a gather
     * sets {@code out[p] = x[q]}, a scatter adds {@code out[q] += x[p]}. Every index is checked before anything is
     * written.
     */
    static void index(IndexOp op, int axis, Operand x, Operand index, Operand out) {
        int[] iv = ints(index.storage());
        Operand addressed = op == IndexOp.GATHER ? x : out;
        op.check(axis, index.layout(), at -> iv[at], addressed.shape()[axis]);
        int[] p = new int[index.layout().rank()];
        for (int i = 0, n = index.numel(); i < n; i++, Layout.next(p, index.shape())) {
            int[] q = p.clone();
            q[axis] = (int) load(index, p);
            if (op == IndexOp.GATHER) {
                store(out, p, load(x, q));
            } else {
                store(out, q, load(out, q) + load(x, p));
            }
        }
    }
}
