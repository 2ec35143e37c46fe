package dev.gradus.conformance;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.IndexOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.UnaryOp;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The backend under test against {@link dev.gradus.testing.ReferenceBackend}, op by op at the SPI: random operands
 * of odd shapes, in strided, permuted, offset and broadcast layouts where the SPI allows them, run through both
 * backends and compared over whole storages (so a write outside the output's elements shows too).
 *
 * <p>Part of {@link BackendConformance}, so every backend runs it; seeded, each failure names its trial and
 * operands. Tolerances: 1e-5 relative for maps, 1e-4 where a backend may reorder sums, 1e-3 for batch norm's
 * gradients.
 */
interface ReferenceDifferential {
    Backend suiteBackend();

    private static int[] withoutAxis(int[] shape, int axis) {
        int[] s = new int[shape.length - 1];
        for (int d = 0, k = 0; d < shape.length; d++) {
            if (d != axis) {
                s[k++] = shape[d];
            }
        }
        return s;
    }

    @Test
    default void fillUnaryAndConversionsMatchTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 101)) {
            for (int trial = 0; trial < 8; trial++) {
                int[] shape = tw.shape(tw.rnd.nextInt(5), 5);
                Twins.Pair out = tw.floats(tw.layout(shape, false));
                float value = tw.rnd.nextFloat();
                tw.both((be, side) -> be.fill(side.apply(out), value));
                tw.assertSame(out, 0, "fill " + out.layout());
                for (UnaryOp op : UnaryOp.values()) {
                    Twins.Pair x = tw.floats(tw.layout(shape, true));
                    Twins.Pair y = tw.floats(tw.layout(shape, false));
                    float s = op == UnaryOp.POW_SCALAR ? (trial % 2 == 0 ? 3f : 0.5f) : 0.75f;
                    tw.both((be, side) -> be.unary(op, s, side.apply(x), side.apply(y)));
                    tw.assertSame(y, 1e-5, "trial " + trial + ": " + op + " of " + x.layout());
                }
                // IDENTITY converts: float -> int truncates, int -> float, int -> int
                Layout l = tw.layout(shape, true);
                float[] v = tw.values(Twins.span(l), false);
                for (int i = 0; i < v.length; i++) {
                    v[i] *= 10;
                }
                Twins.Pair xf = tw.floats(l, v);
                Twins.Pair xi = tw.ints(tw.layout(shape, true), 100);
                Twins.Pair yi = tw.ints(tw.layout(shape, false), 100);
                Twins.Pair yf = tw.floats(tw.layout(shape, false));
                tw.both((be, side) -> be.unary(UnaryOp.IDENTITY, 0f, side.apply(xf), side.apply(yi)));
                tw.assertSame(yi, 0, "trial " + trial + ": FLOAT32 -> INT32");
                tw.both((be, side) -> be.unary(UnaryOp.IDENTITY, 0f, side.apply(xi), side.apply(yf)));
                tw.assertSame(yf, 0, "trial " + trial + ": INT32 -> FLOAT32");
                tw.both((be, side) -> be.unary(UnaryOp.IDENTITY, 0f, side.apply(xi), side.apply(yi)));
                tw.assertSame(yi, 0, "trial " + trial + ": INT32 -> INT32");
            }
        }
    }

    @Test
    default void binaryOpsWithBroadcastingMatchTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 102)) {
            for (int trial = 0; trial < 12; trial++) {
                int[] shape = tw.shape(tw.rnd.nextInt(5), 5);
                boolean ties = trial % 2 == 1;
                for (BinaryOp op : BinaryOp.values()) {
                    Twins.Pair a = broadcastInput(tw, shape, ties);
                    Twins.Pair b = broadcastInput(tw, shape, ties);
                    Twins.Pair out = tw.floats(tw.layout(shape, false));
                    tw.both((be, side) -> be.binary(op, side.apply(a), side.apply(b), side.apply(out)));
                    tw.assertSame(out, 1e-5, "trial " + trial + ": " + op + " of " + a.layout() + " and " + b.layout());
                }
            }
        }
    }

    /** An operand broadcast to {@code shape}: some axes of size 1 (or missing in front), then strided as well. */
    private static Twins.Pair broadcastInput(Twins tw, int[] shape, boolean ties) {
        int lead = shape.length == 0 ? 0 : tw.rnd.nextInt(shape.length + 1) / 2;
        int[] own = Arrays.copyOfRange(shape, lead, shape.length);
        for (int d = 0; d < own.length; d++) {
            if (tw.rnd.nextInt(3) == 0) {
                own[d] = 1;
            }
        }
        Layout l = tw.layout(own, true).broadcastTo(shape);
        return tw.floats(l, tw.values(Twins.span(l), ties));
    }

    @Test
    default void reductionsMatchTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 103)) {
            for (int trial = 0; trial < 24; trial++) {
                int[] shape = tw.shape(1 + tw.rnd.nextInt(3), 7);
                int axis = tw.rnd.nextInt(shape.length);
                if (trial % 6 == 5) {
                    shape[axis] = 300; // longer than a vector or a tile
                }
                ReduceOp op = ReduceOp.values()[trial % 3];
                Layout xl = new Layout(shape, Layout.contiguous(shape).strides(), tw.rnd.nextInt(3));
                float[] v = tw.values(Twins.span(xl), trial % 4 == 1);
                if (trial % 4 == 2) {
                    for (int k = 0; k < 3; k++) {
                        v[tw.rnd.nextInt(v.length)] = Float.NaN;
                    }
                }
                Twins.Pair x = tw.floats(xl, v);
                int[] os = withoutAxis(shape, axis);
                Layout ol = new Layout(os, Layout.contiguous(os).strides(), tw.rnd.nextInt(3));
                Twins.Pair out = op == ReduceOp.ARGMAX ? tw.ints(ol, 7) : tw.floats(ol);
                tw.both((be, side) -> be.reduce(op, side.apply(x), axis, side.apply(out)));
                tw.assertSame(out, 1e-4, "trial " + trial + ": " + op + " over axis " + axis + " of " + xl);
            }
        }
    }

    @Test
    default void matmulOfStridedAndBroadcastOperandsMatchesTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 104)) {
            for (int trial = 0; trial < 20; trial++) {
                int[] batch = tw.shape(tw.rnd.nextInt(3), 3);
                int m = 1 + tw.rnd.nextInt(9);
                int k = tw.rnd.nextInt(10); // 0 included: a sum over nothing is 0
                int n = 1 + tw.rnd.nextInt(9);
                Twins.Pair a = tw.floats(matrices(tw, batch, m, k));
                Twins.Pair b = tw.floats(matrices(tw, batch, k, n));
                int[] os = Arrays.copyOf(batch, batch.length + 2);
                os[batch.length] = m;
                os[batch.length + 1] = n;
                Twins.Pair out = tw.floats(Layout.contiguous(os));
                tw.both((be, side) -> be.matmul(side.apply(a), side.apply(b), side.apply(out)));
                tw.assertSame(out, 1e-4, "trial " + trial + ": matmul " + a.layout() + " x " + b.layout());
            }
        }
    }

    /** A strided {@code [batch..., rows, cols]} layout whose batch axes are broadcast (stride 0) one time in three. */
    private static Layout matrices(Twins tw, int[] batch, int rows, int cols) {
        int[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = rows;
        s[batch.length + 1] = cols;
        Layout l = tw.layout(s, false);
        int[] strides = l.strides().clone();
        for (int d = 0; d < batch.length; d++) {
            strides[d] = tw.rnd.nextInt(3) == 0 ? 0 : strides[d];
        }
        return new Layout(s, strides, l.offset());
    }

    @Test
    default void conv2dAndItsGradientsMatchTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 105)) {
            for (int trial = 0; trial < 16; trial++) {
                int groups = 1 + tw.rnd.nextInt(2);
                int c = groups * (1 + tw.rnd.nextInt(3));
                int k = groups * (1 + tw.rnd.nextInt(3));
                int r = 1 + tw.rnd.nextInt(3);
                int s = 1 + tw.rnd.nextInt(3);
                ConvParams p = new ConvParams(
                        1 + tw.rnd.nextInt(2),
                        1 + tw.rnd.nextInt(2),
                        tw.rnd.nextInt(3),
                        tw.rnd.nextInt(2),
                        1 + tw.rnd.nextInt(2),
                        1 + tw.rnd.nextInt(2),
                        groups);
                int[] xs = {1 + tw.rnd.nextInt(3), c, 3 + tw.rnd.nextInt(7), 3 + tw.rnd.nextInt(7)};
                int[] ws = {k, c / groups, r, s};
                int[] os = {xs[0], k, p.outH(xs[2], r), p.outW(xs[3], s)};
                if (os[2] < 1 || os[3] < 1) {
                    continue;
                }
                String what = "trial " + trial + ": conv2d x " + Arrays.toString(xs) + ", w " + Arrays.toString(ws)
                        + ", " + p;
                Twins.Pair x = tw.dense(-1, 1, xs);
                Twins.Pair w = tw.dense(-1, 1, ws);
                Twins.Pair bias = trial % 3 == 0 ? null : tw.dense(-1, 1, k);
                UnaryOp act = trial % 2 == 0 ? UnaryOp.IDENTITY : UnaryOp.RELU;
                Twins.Pair out = tw.dense(-1, 1, os);
                tw.both((be, side) -> be.conv2d(
                        side.apply(x), side.apply(w), bias == null ? null : side.apply(bias), side.apply(out), p, act));
                tw.assertSame(out, 1e-4, what + " with " + act);
                Twins.Pair dOut = tw.dense(-1, 1, os);
                Twins.Pair dx = tw.dense(-1, 1, xs);
                tw.both((be, side) -> be.conv2dBackwardData(side.apply(dOut), side.apply(w), side.apply(dx), p));
                tw.assertSame(dx, 1e-4, what + ", backward data");
                Twins.Pair dw = tw.dense(-1, 1, ws);
                Twins.Pair db = bias == null ? null : tw.dense(-1, 1, k);
                tw.both((be, side) -> be.conv2dBackwardFilter(
                        side.apply(x), side.apply(dOut), side.apply(dw), db == null ? null : side.apply(db), p));
                tw.assertSame(dw, 1e-4, what + ", backward filter");
                if (db != null) {
                    tw.assertSame(db, 1e-4, what + ", backward bias");
                }
            }
        }
    }

    @Test
    default void poolingAndItsGradientMatchTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 106)) {
            for (int trial = 0; trial < 20; trial++) {
                int kh = 1 + tw.rnd.nextInt(3);
                int kw = 1 + tw.rnd.nextInt(3);
                PoolParams p = new PoolParams(
                        kh,
                        kw,
                        1 + tw.rnd.nextInt(3),
                        1 + tw.rnd.nextInt(3),
                        tw.rnd.nextInt(kh / 2 + 1),
                        tw.rnd.nextInt(kw / 2 + 1));
                int[] xs = {1 + tw.rnd.nextInt(2), 1 + tw.rnd.nextInt(3), 2 + tw.rnd.nextInt(8), 2 + tw.rnd.nextInt(8)};
                int[] os = {xs[0], xs[1], p.outH(xs[2]), p.outW(xs[3])};
                if (os[2] < 1 || os[3] < 1) {
                    continue;
                }
                PoolOp op = trial % 2 == 0 ? PoolOp.MAX : PoolOp.AVG;
                String what = "trial " + trial + ": " + op + " pool of " + Arrays.toString(xs) + ", " + p;
                Twins.Pair x = tw.dense(-1, 1, xs);
                Twins.Pair out = tw.dense(-1, 1, os);
                Twins.Pair argmax = op == PoolOp.MAX ? tw.ints(Layout.contiguous(os), 1) : null;
                tw.both((be, side) ->
                        be.pool2d(op, side.apply(x), side.apply(out), argmax == null ? null : side.apply(argmax), p));
                tw.assertSame(out, 1e-5, what);
                if (argmax != null) {
                    tw.assertSame(argmax, 0, what + ", argmax");
                }
                Twins.Pair dOut = tw.dense(-1, 1, os);
                Twins.Pair dx = tw.dense(-1, 1, xs);
                tw.both((be, side) -> be.pool2dBackward(
                        op, side.apply(dOut), argmax == null ? null : side.apply(argmax), side.apply(dx), p));
                tw.assertSame(dx, 1e-5, what + ", backward");
            }
        }
    }

    @Test
    default void batchNormAndChannelAffineMatchTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 107)) {
            for (int trial = 0; trial < 12; trial++) {
                int c = 1 + tw.rnd.nextInt(5);
                int[] xs = trial % 3 == 0
                        ? new int[] {2 + tw.rnd.nextInt(30), c}
                        : new int[] {1 + tw.rnd.nextInt(4), c, 1 + tw.rnd.nextInt(6), 2 + tw.rnd.nextInt(6)};
                boolean affine = trial % 2 == 0;
                boolean running = trial % 4 < 2;
                Twins.Pair x = tw.dense(2, 4, xs); // off-centre, as activations are
                Twins.Pair out = tw.dense(-1, 1, xs);
                Twins.Pair[] ps = {
                    affine ? tw.dense(0.5f, 1.5f, c) : null,
                    affine ? tw.dense(-1, 1, c) : null,
                    running ? tw.dense(-1, 1, c) : null,
                    running ? tw.dense(0.5f, 1.5f, c) : null,
                    tw.dense(-1, 1, c),
                    tw.dense(-1, 1, c)
                };
                String what = "trial " + trial + ": batch norm of " + Arrays.toString(xs) + (affine ? ", affine" : "")
                        + (running ? ", running statistics" : "");
                tw.both((be, side) -> be.batchNormTrain(side.apply(x), side.apply(out), Twins.bnArgs(ps, side)));
                tw.assertSame(out, 1e-4, what);
                for (int i = 2; i < ps.length; i++) {
                    if (ps[i] != null) {
                        tw.assertSame(ps[i], 1e-5, what + ", statistic " + i + " of BatchNormArgs");
                    }
                }
                Twins.Pair dOut = tw.dense(-1, 1, xs);
                Twins.Pair dx = tw.dense(-1, 1, xs);
                Twins.Pair dGamma = affine ? tw.dense(-1, 1, c) : null;
                Twins.Pair dBeta = affine ? tw.dense(-1, 1, c) : null;
                tw.both((be, side) -> be.batchNormBackward(
                        side.apply(x),
                        side.apply(dOut),
                        Twins.bnArgs(ps, side),
                        side.apply(dx),
                        dGamma == null ? null : side.apply(dGamma),
                        dBeta == null ? null : side.apply(dBeta)));
                tw.assertSame(dx, 1e-3, what + ", dx");
                if (affine) {
                    tw.assertSame(dGamma, 1e-3, what + ", dGamma");
                    tw.assertSame(dBeta, 1e-3, what + ", dBeta");
                }
                Twins.Pair scale = tw.dense(-2, 2, c);
                Twins.Pair shift = tw.dense(-2, 2, c);
                tw.both((be, side) ->
                        be.channelAffine(side.apply(x), side.apply(scale), side.apply(shift), side.apply(out)));
                tw.assertSame(out, 1e-5, "trial " + trial + ": channelAffine of " + Arrays.toString(xs));
            }
        }
    }

    @Test
    default void logSoftmaxOneHotGatherAndScatterMatchTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 108)) {
            for (int trial = 0; trial < 12; trial++) {
                int rows = 1 + tw.rnd.nextInt(6);
                int cols = 1 + tw.rnd.nextInt(12);
                Twins.Pair logits = tw.dense(-8, 8, rows, cols);
                Twins.Pair logp = tw.dense(-1, 1, rows, cols);
                tw.both((be, side) -> be.logSoftmax(side.apply(logits), side.apply(logp)));
                tw.assertSame(logp, 1e-5, "trial " + trial + ": logSoftmax of [" + rows + ", " + cols + "]");
                Twins.Pair labels = tw.ints(Layout.contiguous(rows), cols);
                tw.both((be, side) -> be.oneHot(side.apply(labels), side.apply(logp)));
                tw.assertSame(logp, 0, "trial " + trial + ": oneHot");
                checkIndex(tw, trial);
            }
        }
    }

    /** Gather and scatter-add along a random axis, with a strided (sometimes broadcast) index. */
    private static void checkIndex(Twins tw, int trial) {
        int[] xs = tw.shape(1 + tw.rnd.nextInt(3), 5);
        int axis = tw.rnd.nextInt(xs.length);
        int[] is = xs.clone();
        for (int d = 0; d < is.length; d++) {
            is[d] = d == axis ? 1 + tw.rnd.nextInt(4) : 1 + tw.rnd.nextInt(xs[d]);
        }
        Twins.Pair index = tw.ints(tw.layout(is, true), xs[axis]);
        Twins.Pair x = tw.floats(tw.layout(xs, true));
        Twins.Pair gathered = tw.floats(tw.layout(is, false));
        tw.both((be, side) -> be.index(IndexOp.GATHER, axis, side.apply(x), side.apply(index), side.apply(gathered)));
        tw.assertSame(gathered, 0, "trial " + trial + ": gather along " + axis + " by " + index.layout());
        Twins.Pair src = tw.floats(tw.layout(is, true));
        Twins.Pair into = tw.floats(tw.layout(xs, false));
        tw.both((be, side) ->
                be.index(IndexOp.SCATTER_ADD, axis, side.apply(src), side.apply(index), side.apply(into)));
        tw.assertSame(into, 1e-5, "trial " + trial + ": scatterAdd along " + axis + " by " + index.layout());
    }
}
