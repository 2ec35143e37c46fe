package dev.gradus.backend.cuda;

import dev.gradus.spi.Layout;

/**
 * How a row-major, possibly transposed and batched {@code out = a x b} maps onto column-major cuBLAS calls: row-major
 * {@code C = A B} is column-major {@code C^T = B^T A^T}, so {@code b} goes first; an operand stored transposed is
 * passed with {@code CUBLAS_OP_T} instead of being copied.
 *
 * <pre>{@code GemmPlan p = GemmPlan.of(aLayout, bLayout, outLayout); // null: copy an operand to dense first}</pre>
 *
 * @param transFirst  whether {@code b}, the first cuBLAS operand, is passed transposed
 * @param transSecond whether {@code a}, the second cuBLAS operand, is passed transposed
 * @param bOffsets    element offset of {@code b} for each batch entry (likewise {@code aOffsets}, {@code outOffsets})
 */
record GemmPlan(
        boolean transFirst,
        boolean transSecond,
        int m,
        int n,
        int k,
        int ldFirst,
        int ldSecond,
        int ldOut,
        long[] bOffsets,
        long[] aOffsets,
        long[] outOffsets) {

    /** One operand as cuBLAS takes it: transposed or not, and its leading dimension; null if neither fits. */
    record Operand(boolean trans, int ld) {
        static Operand of(Layout l) {
            int r = l.rank();
            int rows = l.shape()[r - 2];
            int cols = l.shape()[r - 1];
            int rs = l.strides()[r - 2];
            int cs = l.strides()[r - 1];
            if ((cs == 1 || cols == 1) && rs >= Math.max(1, cols)) {
                return new Operand(false, Math.max(rs, 1));
            }
            if ((rs == 1 || rows == 1) && cs >= Math.max(1, rows)) {
                return new Operand(true, Math.max(cs, 1));
            }
            return null;
        }
    }

    /** The calls for {@code a [..., M, K] x b [..., K, N] -> out [..., M, N]} (same rank, dense out), or null. */
    static GemmPlan of(Layout a, Layout b, Layout out) {
        Operand oa = Operand.of(a);
        Operand ob = Operand.of(b);
        if (oa == null || ob == null) {
            return null;
        }
        int r = out.rank();
        int m = out.shape()[r - 2];
        int n = out.shape()[r - 1];
        int k = a.shape()[r - 1];
        int batch = 1;
        for (int d = 0; d < r - 2; d++) {
            batch *= out.shape()[d];
        }
        long[] ao = new long[batch];
        long[] bo = new long[batch];
        long[] oo = new long[batch];
        for (int bi = 0; bi < batch; bi++) {
            long aOff = a.offset();
            long bOff = b.offset();
            long oOff = out.offset();
            int rem = bi;
            for (int d = r - 3; d >= 0; d--) {
                int c = rem % out.shape()[d];
                rem /= out.shape()[d];
                aOff += (long) c * a.strides()[d];
                bOff += (long) c * b.strides()[d];
                oOff += (long) c * out.strides()[d];
            }
            ao[bi] = aOff;
            bo[bi] = bOff;
            oo[bi] = oOff;
        }
        return new GemmPlan(ob.trans(), oa.trans(), m, n, k, ob.ld(), oa.ld(), n, bo, ao, oo);
    }
}
