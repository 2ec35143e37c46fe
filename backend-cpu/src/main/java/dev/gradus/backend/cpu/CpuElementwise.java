package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.asStored;
import static dev.gradus.backend.cpu.CpuStorage.plain;
import static dev.gradus.backend.cpu.Scratch.TILE;
import static dev.gradus.backend.cpu.StridedRows.atLeast1d;
import static dev.gradus.backend.cpu.StridedRows.lastStride;
import static dev.gradus.backend.cpu.StridedRows.load;
import static dev.gradus.backend.cpu.StridedRows.store;

import dev.gradus.DType;
import dev.gradus.backend.cpu.CpuStorage.Plain;
import dev.gradus.spi.BatchNormDims;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.Storage;
import dev.gradus.spi.UnaryOp;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;

/**
 * Elementwise kernels on strided operands: fill, unary, binary (with its broadcast fast paths) and the per-channel
 * affine map, run in place on a oneDNN blocked layout when every operand can stay in it, else on plain data.
 */
final class CpuElementwise {
    private final Parallel parallel;
    private final StridedRows strided;
    /** Null without oneDNN. */
    private final DnnlEltwise dnnlEltwise;

    CpuElementwise(Parallel parallel, DnnlEltwise dnnlEltwise) {
        this.parallel = parallel;
        this.strided = new StridedRows(parallel);
        this.dnnlEltwise = dnnlEltwise;
    }

    void fill(Operand dst, float value) {
        Plain d = plain(dst.storage());
        Layout l = atLeast1d(dst.layout());
        int st = lastStride(l);
        if (d.dtype() == DType.INT32) {
            IntBuffer o = d.i;
            int v = (int) value;
            strided.forEachRow(l, null, null, (sc, a, b, c, len) -> {
                for (int k = 0; k < len; k++) {
                    o.put(a + k * st, v);
                }
            });
            return;
        }
        FloatBuffer o = d.f;
        strided.forEachRow(l, null, null, (sc, a, b, c, len) -> {
            Arrays.fill(sc.a, value);
            for (int t = 0; t < len; t += TILE) {
                store(sc.a, o, a + t * st, st, Math.min(TILE, len - t));
            }
        });
    }

    void unary(UnaryOp op, float s, Operand xo, Operand outo) {
        Storage x = xo.storage();
        Layout xLayout = xo.layout();
        Storage out = outo.storage();
        Layout outLayout = outo.layout();
        try (CpuStorage.BlockedReads held = CpuStorage.readBlocked(asStored(x))) {
            DnnlLayout kept = keptLayout(x, xLayout, x, xLayout, out, outLayout);
            if (kept == null) {
                held.close(); // the op converts its operands to plain below, which waits for other readers
            }
            unary(op, s, x, xLayout, out, outLayout, kept, held);
        }
    }

    private void unary(
            UnaryOp op,
            float s,
            Storage x,
            Layout xLayout,
            Storage out,
            Layout outLayout,
            DnnlLayout kept,
            CpuStorage.BlockedReads held) {
        Layout xl = atLeast1d(xLayout);
        Layout ol = atLeast1d(outLayout);
        int sx = lastStride(xl);
        int so = lastStride(ol);
        if (kept == null && (x.dtype() == DType.INT32 || out.dtype() == DType.INT32)) {
            if (op != UnaryOp.IDENTITY) {
                throw new IllegalArgumentException("cpu backend: " + op + " is only defined on FLOAT32");
            }
            convert(plain(x), xl, sx, plain(out), ol, so);
            return;
        }
        FloatBuffer in = inKept(x, kept, held);
        FloatBuffer o = outKept(out, kept, held);
        strided.forEachRow(xl, ol, null, (sc, a, b, c, len) -> {
            for (int t = 0; t < len; t += TILE) {
                int m = Math.min(TILE, len - t);
                load(in, a + t * sx, sx, sc.a, m);
                Kernels.unary(op, s, sc.a, sc.b, m);
                store(sc.b, o, b + t * so, so, m);
            }
        });
        asStored(out).setLayout(kept);
    }

    /**
     * The blocked layout that an elementwise op may run in as is: all operands float, whole storages of one
     * shape, the inputs in the same blocked layout. Null otherwise (the op then runs on plain data).
     */
    static DnnlLayout keptLayout(Storage a, Layout al, Storage b, Layout bl, Storage out, Layout ol) {
        CpuStorage ra = asStored(a);
        DnnlLayout l = ra.layout();
        if (l == null
                || asStored(b).layout() != l
                || ra.dtype() != DType.FLOAT32
                || asStored(b).dtype() != DType.FLOAT32
                || asStored(out).dtype() != DType.FLOAT32) {
            return null;
        }
        return whole(a, al) && whole(b, bl) && whole(out, ol) ? l : null;
    }

    /**
     * {@code out = a op b[channel]} where {@code a} is a whole activation a oneDNN op left in {@code nChw<B>c} and
     * {@code b} is broadcast per channel ({@code [C]} seen as {@code [N, C, H, W]} with strides {@code 0, s, 0, 0}),
     * as eval-mode batch norm and bias adds compute: run in the blocked layout, which stays on the output, instead
     * of reordering the activation to plain and taking the strided broadcast path (measured: most of {@code bn-cnn}'s
     * inference time). False, doing nothing, when the operands are not of that form.
     */
    private boolean perChannelOnBlocked(
            BinaryOp op, Storage a, Layout al, Storage b, Layout bl, Storage out, Layout ol) {
        if (op != BinaryOp.ADD && op != BinaryOp.SUB && op != BinaryOp.MUL && op != BinaryOp.DIV) {
            return false;
        }
        CpuStorage ra = asStored(a);
        int[] bs = bl.strides();
        if (ra.layout() == null
                || bl.shape().length != 4
                || bs[0] != 0
                || bs[2] != 0
                || bs[3] != 0
                || a == b
                || out == b) {
            return false;
        }
        // b (a per-channel vector) is read in plain order: converted before a's read hold is taken.
        Plain rb = plain(b);
        try (CpuStorage.BlockedReads held = CpuStorage.readBlocked(ra)) {
            return perChannelOnBlocked(op, ra, al, rb, bl, out, ol, held);
        }
    }

    private boolean perChannelOnBlocked(
            BinaryOp op,
            CpuStorage ra,
            Layout al,
            Plain rb,
            Layout bl,
            Storage out,
            Layout ol,
            CpuStorage.BlockedReads held) {
        Storage a = ra;
        DnnlLayout l = ra.layout();
        if (l == null
                || l.channelBlock == 0
                || ra.dtype() != DType.FLOAT32
                || !whole(a, al)
                || !whole(out, ol)
                || asStored(out).dtype() != DType.FLOAT32
                || rb.dtype() != DType.FLOAT32) {
            return false;
        }
        int[] shape = al.shape();
        for (int d = 0; d < 4; d++) {
            if (shape[d] != l.dims[d] || bl.shape()[d] != shape[d] || ol.shape()[d] != shape[d]) {
                return false;
            }
        }
        int[] bs = bl.strides();
        int n = shape[0];
        int c = shape[1];
        int hw = shape[2] * shape[3];
        int block = l.channelBlock;
        int blocks = c / block;
        float[] per = new float[c];
        for (int ch = 0; ch < c; ch++) {
            per[ch] = rb.f.get(bl.offset() + ch * bs[1]);
        }
        // out is written whole, in a's layout: its plain view is only where the bytes go.
        CpuStorage ro = asStored(out);
        FloatBuffer src = held.view(ra).f();
        FloatBuffer dst = ro.overwrittenWhole(held);
        parallel.forRange(n * blocks, (long) hw * block, (from, to) -> {
            float[] buf = new float[hw * block];
            float[] v = new float[block];
            for (int nb = from; nb < to; nb++) {
                int base = nb * hw * block;
                src.get(base, buf, 0, hw * block);
                System.arraycopy(per, (nb % blocks) * block, v, 0, block);
                Kernels.binaryRepeating(op, buf, v, hw * block);
                dst.put(base, buf, 0, hw * block);
            }
        });
        ro.setLayout(l);
        return true;
    }

    /**
     * An elementwise operand's buffer: as it is when the op runs in the {@code kept} layout (the inputs then held by
     * {@code held}; the output is written whole and its layout set after), else in plain order.
     */
    private static FloatBuffer inKept(Storage s, DnnlLayout kept, CpuStorage.BlockedReads held) {
        if (kept == null) {
            return plain(s).f;
        }
        CpuStorage c = asStored(s);
        return c.layout() == null ? plain(c).f : held.view(c).f();
    }

    /** The output's buffer for {@link #inKept}'s operands: written whole in the {@code kept} layout, else plain. */
    private static FloatBuffer outKept(Storage s, DnnlLayout kept, CpuStorage.BlockedReads held) {
        return kept == null ? plain(s).f : asStored(s).overwrittenWhole(held);
    }

    /** {@link #inKept}'s storage, for a oneDNN kernel that treats every element alike. */
    private static CpuStorage storedIn(Storage s, DnnlLayout kept, CpuStorage.BlockedReads held) {
        if (kept == null) {
            return plain(s).storage;
        }
        CpuStorage c = asStored(s);
        if (c.layout() != null) {
            held.view(c); // checks the hold
        }
        return c;
    }

    static boolean whole(Storage s, Layout l) {
        return l.offset() == 0 && l.numel() == s.numel() && l.isContiguous();
    }

    private void convert(Plain xs, Layout xl, int sx, Plain os, Layout ol, int so) {
        strided.forEachRow(xl, ol, null, (sc, a, b, c, len) -> {
            for (int k = 0; k < len; k++) {
                int ia = a + k * sx;
                int ib = b + k * so;
                if (xs.dtype() == DType.INT32 && os.dtype() == DType.INT32) {
                    os.i.put(ib, xs.i.get(ia));
                } else if (xs.dtype() == DType.INT32) {
                    os.f.put(ib, xs.i.get(ia));
                } else {
                    os.i.put(ib, (int) xs.f.get(ia));
                }
            }
        });
    }

    void binary(BinaryOp op, Operand ao, Operand bo, Operand outo) {
        Storage a = ao.storage();
        Layout aLayout = ao.layout();
        Storage b = bo.storage();
        Layout bLayout = bo.layout();
        Storage out = outo.storage();
        Layout outLayout = outo.layout();
        if (perChannelOnBlocked(op, a, aLayout, b, bLayout, out, outLayout)) {
            return;
        }
        try (CpuStorage.BlockedReads held = CpuStorage.readBlocked(asStored(a), asStored(b))) {
            DnnlLayout kept = keptLayout(a, aLayout, b, bLayout, out, outLayout);
            if (kept == null) {
                held.close(); // the op converts its operands to plain below, which waits for other readers
            }
            binary(op, a, aLayout, b, bLayout, out, outLayout, kept, held);
        }
    }

    private void binary(
            BinaryOp op,
            Storage a,
            Layout aLayout,
            Storage b,
            Layout bLayout,
            Storage out,
            Layout outLayout,
            DnnlLayout kept,
            CpuStorage.BlockedReads held) {
        if (op == BinaryOp.RELU_GRAD
                && dnnlEltwise != null
                && aLayout.numel() >= DnnlEltwise.MIN_ELEMENTS
                && aLayout.isContiguous()
                && bLayout.isContiguous()
                && outLayout.isContiguous()) {
            // Elementwise over whole storages of one layout, or over plain ones: the order does not matter to it.
            CpuStorage ro = storedIn(out, kept, held);
            dnnlEltwise.reluBackward(
                    storedIn(a, kept, held),
                    aLayout.offset(),
                    storedIn(b, kept, held),
                    bLayout.offset(),
                    ro,
                    outLayout.offset(),
                    aLayout.numel());
            ro.setLayout(kept);
            return;
        }
        if (kept == null && rowBroadcast(op, a, aLayout, b, bLayout, out, outLayout)) {
            return;
        }
        FloatBuffer fa = inKept(a, kept, held);
        FloatBuffer fb = inKept(b, kept, held);
        FloatBuffer fo = outKept(out, kept, held);
        Layout al = atLeast1d(aLayout);
        Layout bl = atLeast1d(bLayout);
        Layout ol = atLeast1d(outLayout);
        int sa = lastStride(al);
        int sb = lastStride(bl);
        int so = lastStride(ol);
        strided.forEachRow(al, bl, ol, (sc, oa, ob, oo, len) -> {
            for (int t = 0; t < len; t += TILE) {
                int m = Math.min(TILE, len - t);
                load(fa, oa + t * sa, sa, sc.a, m);
                load(fb, ob + t * sb, sb, sc.b, m);
                Kernels.binary(op, sc.a, sc.b, sc.c, m);
                store(sc.c, fo, oo + t * so, so, m);
            }
        });
        asStored(out).setLayout(kept);
    }

    /**
     * {@code op} of a contiguous operand and one row broadcast over all its rows (a bias: strides 0 but the last),
     * many short rows per tile. Why: row by row, a {@code [1000, 10]} bias add cost 40 us against 5 us for a
     * same-shape add (three buffer copies per 10-element row); here the broadcast row is tiled once per thread.
     * False when the operands are not of that form (nothing done then).
     */
    private boolean rowBroadcast(BinaryOp op, Storage a, Layout al, Storage b, Layout bl, Storage out, Layout ol) {
        int r = ol.rank();
        if (r < 2 || !ol.isContiguous()) {
            return false;
        }
        boolean aIsRow = isBroadcastRow(al);
        boolean bIsRow = isBroadcastRow(bl);
        if (aIsRow == bIsRow || !(aIsRow ? bl : al).isContiguous()) {
            return false;
        }
        int len = ol.shape()[r - 1];
        int rows = ol.numel() / Math.max(1, len);
        if (len == 0 || len > TILE / 4 || rows < 2) {
            return false;
        }
        FloatBuffer row = plain(aIsRow ? a : b).f;
        int rowOffset = (aIsRow ? al : bl).offset();
        FloatBuffer full = plain(aIsRow ? b : a).f;
        int fullOffset = (aIsRow ? bl : al).offset();
        FloatBuffer fo = plain(out).f;
        int outOffset = ol.offset();
        int per = TILE / len;
        parallel.forRange(rows, len, (from, to) -> {
            Scratch sc = Scratch.get();
            float[] tiled = aIsRow ? sc.a : sc.b;
            float[] data = aIsRow ? sc.b : sc.a;
            row.get(rowOffset, tiled, 0, len);
            for (int k = 1; k < per; k++) {
                System.arraycopy(tiled, 0, tiled, k * len, len);
            }
            for (int r0 = from; r0 < to; r0 += per) {
                int m = Math.min(per, to - r0) * len;
                full.get(fullOffset + r0 * len, data, 0, m);
                Kernels.binary(op, sc.a, sc.b, sc.c, m);
                fo.put(outOffset + r0 * len, sc.c, 0, m);
            }
        });
        return true;
    }

    /** A row repeated over every leading axis: strides 0 except a last stride of 1. */
    private static boolean isBroadcastRow(Layout l) {
        int[] st = l.strides();
        int r = l.rank();
        if (r < 2 || st[r - 1] != 1) {
            return false;
        }
        for (int d = 0; d < r - 1; d++) {
            if (st[d] != 0 && l.shape()[d] != 1) {
                return false;
            }
        }
        return true;
    }

    void channelAffine(Operand x, Operand scale, Operand shift, Operand out) {
        BatchNormDims d = BatchNormDims.of("channelAffine", x, scale, shift, out);
        int n = d.n();
        int c = d.c();
        int hw = d.hw();
        float[] s = new float[c];
        float[] t = new float[c];
        plain(scale.storage()).f.get(0, s, 0, c);
        plain(shift.storage()).f.get(0, t, 0, c);
        try (CpuStorage.BlockedReads held = CpuStorage.readBlocked(asStored(x.storage()))) {
            channelAffine(x, out, c, n, hw, s, t, held);
        }
    }

    private void channelAffine(
            Operand x, Operand out, int c, int n, int hw, float[] s, float[] t, CpuStorage.BlockedReads held) {
        CpuStorage rx = asStored(x.storage());
        DnnlLayout l = rx.layout();
        CpuStorage ro = asStored(out.storage());
        // Blocked (a oneDNN op's output): runs of `block` channels per pixel, kept blocked in out; else plain
        // planes.
        boolean blocked = l != null && l.channelBlock > 1 && c % l.channelBlock == 0 && whole(x.storage(), x.layout());
        int block = blocked ? l.channelBlock : 1;
        if (!blocked) {
            held.close(); // converted to plain below, which waits for other readers
        }
        FloatBuffer src = blocked ? held.view(rx).f() : plain(x.storage()).f;
        // Written whole (channelAffine's operands are whole [N, C, ...] storages).
        FloatBuffer dst = blocked ? ro.overwrittenWhole(held) : plain(ro).f;
        // Scale and shift spread to one image's elements in the data's order, so the loop below reads every array
        // at the same index (C2 vectorises that; a per-channel scalar or a block-periodic index ran 2-3x slower).
        int per = c * hw;
        float[] vs = new float[per];
        float[] vt = new float[per];
        for (int k = 0; k < per; k++) {
            int ch = blocked ? (k / (hw * block)) * block + k % block : k / hw;
            vs[k] = s[ch];
            vt[k] = t[ch];
        }
        parallel.forRange(n, (long) per * 2, (from, to) -> {
            float[] buf = new float[per];
            for (int i = from; i < to; i++) {
                src.get(i * per, buf, 0, per);
                Kernels.affine(buf, vs, vt, per);
                dst.put(i * per, buf, 0, per);
            }
        });
        ro.setLayout(block > 1 ? l : null);
    }
}
