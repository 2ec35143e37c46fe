package dev.gradus.conformance;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.UnaryOp;
import org.junit.jupiter.api.Test;

/**
 * The backend under test against {@link dev.gradus.testing.ReferenceBackend} on the sizes and sequences that take
 * a backend's other paths: elementwise ops and reductions large enough for threads and tiles, and a CNN's ops
 * chained on the backend's own outputs (16 channels, so a CPU backend's oneDNN kernels and blocked layouts, and
 * a matrix product after them).
 *
 * <p>Each stage's output is compared, then copied into the reference's operand ({@link Twins#check}), so each op
 * is judged on the same inputs. Part of {@link BackendConformance}, alongside {@link ReferenceDifferential}.
 */
interface ReferenceDifferentialPaths {
    Backend suiteBackend();

    @Test
    default void largeElementwiseOpsAndReductionsMatchTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 201)) {
            Twins.Pair x = tw.dense(-3, 3, 6000, 100);
            Twins.Pair bias = tw.floats(Layout.contiguous(100).broadcastTo(6000, 100));
            Twins.Pair out = tw.dense(0, 1, 6000, 100);
            tw.both((be, side) -> be.binary(BinaryOp.ADD, side.apply(x), side.apply(bias), side.apply(out)));
            tw.check(out, 1e-5, "[6000, 100] + [100]");
            tw.both((be, side) -> be.unary(UnaryOp.EXP, 0f, side.apply(out), side.apply(out)));
            tw.check(out, 1e-5, "exp of [6000, 100] in place");
            Twins.Pair t = tw.floats(Layout.contiguous(100, 6000).transpose(0, 1), new float[600_000]);
            tw.both((be, side) -> be.unary(UnaryOp.IDENTITY, 0f, side.apply(x), side.apply(t)));
            tw.check(t, 0, "a column-major copy of [6000, 100]");
            Twins.Pair r = tw.dense(-2, 2, 3000, 10, 9);
            for (int axis = 0; axis < 3; axis++) {
                for (ReduceOp op : ReduceOp.values()) {
                    int[] os = axis == 0 ? new int[] {10, 9} : axis == 1 ? new int[] {3000, 9} : new int[] {3000, 10};
                    Twins.Pair o = op == ReduceOp.ARGMAX ? tw.ints(Layout.contiguous(os), 1) : tw.dense(0, 1, os);
                    int a = axis;
                    tw.both((be, side) -> be.reduce(op, side.apply(r), a, side.apply(o)));
                    // 3000 float terms may be added in any order: errors near 1e-4 on sums below 1 (BackendConformance)
                    tw.check(o, op == ReduceOp.SUM ? 2e-3 : 0, op + " over axis " + axis + " of [3000, 10, 9]");
                }
            }
            Twins.Pair logits = tw.dense(-8, 8, 130, 1000);
            Twins.Pair logp = tw.dense(0, 1, 130, 1000);
            tw.both((be, side) -> be.logSoftmax(side.apply(logits), side.apply(logp)));
            tw.check(logp, 1e-5, "logSoftmax of [130, 1000]");
        }
    }

    @Test
    default void aCnnsOpsChainedOnTheBackendsOwnOutputsMatchTheReference() {
        try (Twins tw = new Twins(suiteBackend(), 202)) {
            ConvParams same = new ConvParams(1, 1, 1, 1, 1, 1, 1);
            ConvParams valid = new ConvParams(1, 1, 0, 0, 1, 1, 1);
            PoolParams two = new PoolParams(2, 2, 2, 2, 0, 0);
            Twins.Pair x = tw.dense(-1, 1, 4, 16, 14, 14);
            Twins.Pair w1 = tw.dense(-0.2f, 0.2f, 16, 16, 3, 3);
            Twins.Pair b1 = tw.dense(-0.1f, 0.1f, 16);
            Twins.Pair a = tw.dense(0, 1, 4, 16, 14, 14);
            tw.both((be, s) -> be.conv2d(s.apply(x), s.apply(w1), s.apply(b1), s.apply(a), same, UnaryOp.RELU));
            tw.check(a, 1e-4, "conv1 with ReLU");
            Twins.Pair p = tw.dense(0, 1, 4, 16, 7, 7);
            Twins.Pair argmax = tw.ints(Layout.contiguous(4, 16, 7, 7), 1);
            tw.both((be, s) -> be.pool2d(PoolOp.MAX, s.apply(a), s.apply(p), s.apply(argmax), two));
            tw.check(p, 0, "max pool of conv1");
            // ReLU's zeros tie in a window; which zero wins is free, and its gradient is 0 either way (RELU_GRAD)
            tw.sync(argmax);
            Twins.Pair added = tw.dense(0, 1, 4, 16, 7, 7);
            Twins.Pair perChannel = tw.floats(new Layout(new int[] {4, 16, 7, 7}, new int[] {0, 1, 0, 0}, 0));
            tw.both((be, s) -> be.binary(BinaryOp.ADD, s.apply(p), s.apply(perChannel), s.apply(added)));
            tw.check(added, 1e-5, "pooled + a per-channel bias");
            Twins.Pair scale = tw.dense(0.5f, 2, 16);
            Twins.Pair shift = tw.dense(-1, 1, 16);
            tw.both((be, s) -> be.channelAffine(s.apply(p), s.apply(scale), s.apply(shift), s.apply(added)));
            tw.check(added, 1e-5, "channelAffine of pooled");
            Twins.Pair[] bn = {
                tw.dense(0.5f, 1.5f, 16), tw.dense(-1, 1, 16), tw.dense(-1, 1, 16),
                tw.dense(0.5f, 1.5f, 16), tw.dense(0, 1, 16), tw.dense(0, 1, 16)
            };
            Twins.Pair n = tw.dense(0, 1, 4, 16, 7, 7);
            tw.both((be, s) -> be.batchNormTrain(s.apply(p), s.apply(n), Twins.bnArgs(bn, s)));
            tw.check(n, 1e-4, "batch norm of pooled");
            for (int i = 2; i < bn.length; i++) {
                tw.check(bn[i], 1e-5, "batch norm's statistic " + i);
            }
            Twins.Pair c2 = tw.dense(0, 1, 4, 8, 5, 5);
            Twins.Pair w2 = tw.dense(-0.2f, 0.2f, 8, 16, 3, 3);
            tw.both((be, s) -> be.conv2d(s.apply(n), s.apply(w2), null, s.apply(c2), valid));
            tw.check(c2, 1e-4, "conv2 of batch norm's output");
            Twins.Pair fc = tw.dense(-0.1f, 0.1f, 200, 10);
            Twins.Pair logits = tw.dense(0, 1, 4, 10);
            Layout flat = Layout.contiguous(4, 200);
            Twins.Pair c2flat = new Twins.Pair(
                    new Operand(c2.under().storage(), flat),
                    new Operand(c2.ref().storage(), flat));
            tw.both((be, s) -> be.matmul(s.apply(c2flat), s.apply(fc), s.apply(logits)));
            tw.check(logits, 1e-4, "matmul of conv2's flattened output");
            // backward, from conv2's output gradient down to conv1's input
            Twins.Pair dC2 = tw.dense(-1, 1, 4, 8, 5, 5);
            Twins.Pair dN = tw.dense(0, 1, 4, 16, 7, 7);
            Twins.Pair dW2 = tw.dense(0, 1, 8, 16, 3, 3);
            tw.both((be, s) -> be.conv2dBackwardData(s.apply(dC2), s.apply(w2), s.apply(dN), valid));
            tw.check(dN, 1e-4, "conv2's backward data");
            tw.both((be, s) -> be.conv2dBackwardFilter(s.apply(n), s.apply(dC2), s.apply(dW2), null, valid));
            tw.check(dW2, 1e-4, "conv2's backward filter");
            Twins.Pair dP = tw.dense(0, 1, 4, 16, 7, 7);
            Twins.Pair dGamma = tw.dense(0, 1, 16);
            Twins.Pair dBeta = tw.dense(0, 1, 16);
            tw.both((be, s) -> be.batchNormBackward(
                    s.apply(p), s.apply(dN), Twins.bnArgs(bn, s), s.apply(dP), s.apply(dGamma), s.apply(dBeta)));
            tw.check(dP, 1e-3, "batch norm's backward dx");
            tw.check(dGamma, 1e-3, "batch norm's backward dGamma");
            tw.check(dBeta, 1e-3, "batch norm's backward dBeta");
            Twins.Pair masked = tw.dense(0, 1, 4, 16, 7, 7);
            tw.both((be, s) -> be.binary(BinaryOp.RELU_GRAD, s.apply(dP), s.apply(p), s.apply(masked)));
            tw.check(masked, 0, "ReLU's gradient on the pooled output");
            Twins.Pair dA = tw.dense(0, 1, 4, 16, 14, 14);
            tw.both((be, s) -> be.pool2dBackward(PoolOp.MAX, s.apply(masked), s.apply(argmax), s.apply(dA), two));
            tw.check(dA, 0, "max pool's backward");
            Twins.Pair dX = tw.dense(0, 1, 4, 16, 14, 14);
            Twins.Pair dW1 = tw.dense(0, 1, 16, 16, 3, 3);
            Twins.Pair dB1 = tw.dense(0, 1, 16);
            tw.both((be, s) -> be.conv2dBackwardData(s.apply(dA), s.apply(w1), s.apply(dX), same));
            tw.check(dX, 1e-4, "conv1's backward data");
            tw.both((be, s) -> be.conv2dBackwardFilter(s.apply(x), s.apply(dA), s.apply(dW1), s.apply(dB1), same));
            tw.check(dW1, 1e-4, "conv1's backward filter");
            tw.check(dB1, 1e-4, "conv1's backward bias");
        }
    }
}
