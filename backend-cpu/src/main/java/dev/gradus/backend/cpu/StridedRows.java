package dev.gradus.backend.cpu;

import dev.gradus.spi.Layout;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The strided-row engine: walks up to three equally shaped {@link Layout}s row by row (the last axis), split over
 * the thread pool, and moves strided rows between native buffers and heap tiles.
 */
final class StridedRows {
    private final Parallel parallel;

    StridedRows(Parallel parallel) {
        this.parallel = parallel;
    }

    /** Copies {@code n} elements at {@code off + k * stride} into {@code dst}. */
    static void load(FloatBuffer src, int off, int stride, float[] dst, int n) {
        if (stride == 1) {
            src.get(off, dst, 0, n);
        } else if (stride == 0) {
            Arrays.fill(dst, 0, n, src.get(off));
        } else {
            for (int k = 0; k < n; k++) {
                dst[k] = src.get(off + k * stride);
            }
        }
    }

    /** Copies {@code n} elements of {@code src} to {@code off + k * stride}. */
    static void store(float[] src, FloatBuffer dst, int off, int stride, int n) {
        if (stride == 1) {
            dst.put(off, src, 0, n);
        } else {
            for (int k = 0; k < n; k++) {
                dst.put(off + k * stride, src[k]);
            }
        }
    }

    /** Visits the rows (last axis) of up to three equally shaped layouts. */
    @FunctionalInterface
    interface RowBody {
        void row(Scratch sc, int o0, int o1, int o2, int len);
    }

    /**
     * Calls {@code body} once per innermost row with each layout's starting offset; contiguous layouts collapse
     * to one long row, split over threads.
     */
    void forEachRow(Layout l0, Layout l1, Layout l2, RowBody body) {
        int n = l0.numel();
        if (n == 0) {
            return;
        }
        boolean contiguous =
                l0.isContiguous() && (l1 == null || l1.isContiguous()) && (l2 == null || l2.isContiguous());
        if (contiguous) {
            int b0 = l0.offset();
            int b1 = l1 == null ? 0 : l1.offset();
            int b2 = l2 == null ? 0 : l2.offset();
            parallel.forRange(n, 1, (from, to) -> body.row(Scratch.get(), b0 + from, b1 + from, b2 + from, to - from));
            return;
        }
        int[] shape = l0.shape();
        int r = shape.length;
        int len = shape[r - 1];
        int rows = n / len;
        int[] s0 = l0.strides();
        int[] s1 = l1 == null ? new int[r] : l1.strides();
        int[] s2 = l2 == null ? new int[r] : l2.strides();
        int o0 = l0.offset();
        int o1 = l1 == null ? 0 : l1.offset();
        int o2 = l2 == null ? 0 : l2.offset();
        parallel.forRange(rows, len, (from, to) -> {
            Scratch sc = Scratch.get();
            int[] idx = new int[r - 1];
            int rem = from;
            for (int d = r - 2; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            int a = o0;
            int b = o1;
            int c = o2;
            for (int d = 0; d < r - 1; d++) {
                a += idx[d] * s0[d];
                b += idx[d] * s1[d];
                c += idx[d] * s2[d];
            }
            for (int row = from; row < to; row++) {
                body.row(sc, a, b, c, len);
                for (int d = r - 2; d >= 0; d--) {
                    idx[d]++;
                    a += s0[d];
                    b += s1[d];
                    c += s2[d];
                    if (idx[d] < shape[d]) {
                        break;
                    }
                    a -= s0[d] * shape[d];
                    b -= s1[d] * shape[d];
                    c -= s2[d] * shape[d];
                    idx[d] = 0;
                }
            }
        });
    }

    /** The stride along the last axis (1 for a scalar or a contiguous layout). */
    static int lastStride(Layout l) {
        return l.rank() == 0 || l.isContiguous() ? 1 : l.strides()[l.rank() - 1];
    }

    /** {@code l} itself, or a scalar seen as one element of rank 1. */
    static Layout atLeast1d(Layout l) {
        return l.rank() > 0 ? l : new Layout(new int[] {1}, new int[] {1}, l.offset());
    }
}
