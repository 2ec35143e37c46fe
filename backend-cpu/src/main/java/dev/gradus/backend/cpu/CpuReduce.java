package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;
import static dev.gradus.backend.cpu.Scratch.TILE;

import dev.gradus.backend.cpu.CpuStorage.Plain;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.ReduceOp;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Reductions along one axis (sum, max, argmax; NaN propagating as in PyTorch): short rows many per tile, long
 * rows one at a time, inner axes as columns.
 */
final class CpuReduce {
    private final Parallel parallel;

    CpuReduce(Parallel parallel) {
        this.parallel = parallel;
    }

    void reduce(ReduceOp op, Operand xo, int axis, Operand outo) {
        Layout xLayout = xo.layout();
        int outOffset = outo.layout().offset();
        Plain xs = plain(xo.storage());
        Plain os = plain(outo.storage());
        int[] shape = xLayout.shape();
        int outer = xLayout.outer(axis);
        int len = shape[axis];
        int inner = xLayout.inner(axis);
        final int innerF = inner;
        FloatBuffer in = xs.f;
        int base = xLayout.offset();
        if (inner == 1 && len > 0 && len <= TILE / 4) {
            // Short rows (a batch's logits): many rows per buffer copy, not one copy per row.
            int per = TILE / len;
            parallel.forRange(outer, len, (from, to) -> {
                Scratch sc = Scratch.get();
                for (int o0 = from; o0 < to; o0 += per) {
                    int rows = Math.min(per, to - o0);
                    in.get(base + o0 * len, sc.a, 0, rows * len);
                    for (int r = 0; r < rows; r++) {
                        reduceSpan(op, sc.a, r * len, len, os, outOffset + o0 + r);
                    }
                }
            });
            return;
        }
        if (inner == 1) {
            parallel.forRange(outer, len, (from, to) -> {
                Scratch sc = Scratch.get();
                for (int o = from; o < to; o++) {
                    reduceRow(op, in, base + o * len, len, os, outOffset + o, sc);
                }
            });
            return;
        }
        parallel.forRange(outer, (long) len * inner, (from, to) -> {
            Scratch sc = Scratch.get();
            for (int o = from; o < to; o++) {
                for (int j = 0; j < innerF; j += TILE) {
                    int m = Math.min(TILE, innerF - j);
                    reduceColumns(
                            op, in, base + o * len * innerF + j, len, innerF, m, os, outOffset + o * innerF + j, sc);
                }
            }
        });
    }

    /** Sum, or a maximum (ARGMAX keeps where): a switch expression, so a new op does not compile until handled. */
    private static boolean isSum(ReduceOp op) {
        return switch (op) {
            case SUM -> true;
            case MAX, ARGMAX -> false;
        };
    }

    /** {@link #reduceRow} of {@code a[from, from + n)}, already in a Java array. */
    private static void reduceSpan(ReduceOp op, float[] a, int from, int n, Plain out, int oo) {
        if (isSum(op)) {
            float acc = 0f;
            for (int k = from; k < from + n; k++) {
                acc += a[k];
            }
            out.f.put(oo, acc);
            return;
        }
        float acc = a[from];
        int best = 0;
        for (int k = 1; k < n && acc == acc; k++) {
            float v = a[from + k];
            // NaN wins and stops the scan (acc != acc then): max is NaN, argmax the first NaN, as in PyTorch.
            if (v > acc || v != v) {
                acc = v;
                best = k;
            }
        }
        if (op == ReduceOp.ARGMAX) {
            out.i.put(oo, best);
        } else {
            out.f.put(oo, acc);
        }
    }

    /** Reduces {@code n} contiguous elements into {@code out[oo]}. */
    private static void reduceRow(ReduceOp op, FloatBuffer x, int xo, int n, Plain out, int oo, Scratch sc) {
        boolean sum = isSum(op);
        float acc = sum ? 0f : x.get(xo);
        int best = 0;
        for (int t = 0; t < n; t += TILE) {
            int m = Math.min(TILE, n - t);
            x.get(xo + t, sc.a, 0, m);
            float[] a = sc.a;
            if (sum) {
                for (int k = 0; k < m; k++) {
                    acc += a[k];
                }
            } else {
                for (int k = 0; k < m && acc == acc; k++) {
                    // NaN wins and is kept (acc != acc ends the loop): PyTorch's max and argmax propagate NaN.
                    if (a[k] > acc || a[k] != a[k]) {
                        acc = a[k];
                        best = t + k;
                    }
                }
            }
        }
        if (op == ReduceOp.ARGMAX) {
            out.i.put(oo, best);
        } else {
            out.f.put(oo, acc);
        }
    }

    /** Reduces the rows of a {@code [n, stride]} block, columns {@code [0, m)}, into {@code m} outputs. */
    private static void reduceColumns(
            ReduceOp op, FloatBuffer x, int xo, int n, int stride, int m, Plain out, int oo, Scratch sc) {
        boolean sum = isSum(op);
        float[] acc = sc.b;
        int[] best = sc.idx;
        x.get(xo, acc, 0, m);
        Arrays.fill(best, 0, m, 0);
        for (int k = 1; k < n; k++) {
            float[] row = sc.a;
            x.get(xo + k * stride, row, 0, m);
            if (sum) {
                for (int j = 0; j < m; j++) {
                    acc[j] += row[j];
                }
            } else {
                for (int j = 0; j < m; j++) {
                    // A NaN already held stays (the first NaN wins); a new NaN replaces a number, as in PyTorch.
                    if ((row[j] > acc[j] || row[j] != row[j]) && acc[j] == acc[j]) {
                        acc[j] = row[j];
                        best[j] = k;
                    }
                }
            }
        }
        if (op == ReduceOp.ARGMAX) {
            out.i.put(oo, best, 0, m);
        } else {
            out.f.put(oo, acc, 0, m);
        }
    }
}
