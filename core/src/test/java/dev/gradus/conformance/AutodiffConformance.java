package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Anomaly;
import dev.gradus.Autograd;
import dev.gradus.DType;
import dev.gradus.GradMode;
import dev.gradus.Tensor;
import dev.gradus.nn.ClipGrad;
import dev.gradus.nn.Parameter;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.UnaryOp;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Autodiff semantics: gradients accumulate until zeroed, shared subexpressions sum theirs, a freed graph refuses a
 * second backward, a non-scalar backward needs a seed, {@code noGrad} and {@code detach} record nothing; gradient
 * clipping by norm and by value as PyTorch does it; custom ops through {@code Autograd.record} and backend kernels,
 * grad-checked, a wrong gradient shape named; fused kernels refusing operands that are not dense. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface AutodiffConformance extends SuiteHelpers {
    @Test
    default void gradientsAccumulateUntilZeroed() {
        Tensor x = t(new float[] {1, 2, 3}, 3).requiresGrad(true);
        x.mul(x).sum().backward();
        x.mul(x).sum().backward();
        assertArrayEquals(new float[] {4, 8, 12}, x.grad().toFloatArray());
        x.zeroGrad();
        assertArrayEquals(new float[] {0, 0, 0}, x.grad().toFloatArray());
        x.mul(3f).sum().backward();
        assertArrayEquals(new float[] {3, 3, 3}, x.grad().toFloatArray());
    }

    /**
     * Many narrow views of one tensor (an LSTM's per-step gate inputs), mixed with ordinary uses of it and of a view
     * of it: each view's gradient goes into its part of one buffer, and the sum is the one worked out here, with
     * and without anomaly mode (which takes the views' whole-size rule instead) and over an intermediate tensor.
     */
    @Test
    default void manyNarrowViewsAddTheirGradientsIntoOneBuffer() {
        int rows = 4;
        int cols = 7;
        float[] xv = new float[rows * cols];
        float[] v = new float[rows * cols];
        for (int i = 0; i < xv.length; i++) {
            xv[i] = (i % 5) - 2f;
            v[i] = 0.25f * (i % 3);
        }
        float[] want = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                // d/dx of: sum_c (c + 1) * x[:, c]; 2 * sum(v * x) (x seen through an intermediate 2x); x[1:3].sum()
                want[i] = (c + 1) + 2 * v[i] + (r >= 1 && r < 3 ? 1 : 0);
            }
        }
        for (boolean anomaly : new boolean[] {false, true}) {
            Tensor x = t(xv, rows, cols).requiresGrad(true);
            try (Anomaly m = anomaly ? Anomaly.detect() : null) {
                Tensor twice = x.mul(2f);
                Tensor loss = twice.mul(t(v, rows, cols)).sum();
                for (int c = 0; c < cols; c++) {
                    loss = loss.add(x.narrow(1, c, 1).mul((float) (c + 1)).sum());
                }
                loss = loss.add(x.narrow(0, 1, 2).sum());
                loss.backward();
            }
            assertArrayEquals(want, x.grad().toFloatArray(), 1e-5f, anomaly ? "anomaly mode" : "views");
        }
    }

    @Test
    default void sharedSubexpressionsSumTheirGradients() {
        Tensor x = t(new float[] {2}, 1).requiresGrad(true);
        Tensor y = x.mul(x);
        y.add(y).mul(y).sum().backward(); // 2 x^4 -> 8 x^3
        assertEquals(64f, x.grad().item(), 1e-4);
    }

    @Test
    default void backwardTwiceOnAFreedGraphFails() {
        Tensor x = t(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor loss = x.exp().sum();
        loss.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("already freed"), e.getMessage());
        Tensor kept = x.exp().sum();
        kept.backward(Tensor.full(suiteBackend(), 1f), true);
        kept.backward(Tensor.full(suiteBackend(), 1f), true);
    }

    @Test
    default void nonScalarBackwardNeedsASeed() {
        Tensor x = t(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor y = x.mul(2f);
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("seed"), e.getMessage());
        y.backward(t(new float[] {1, 10}, 2));
        assertArrayEquals(new float[] {2, 20}, x.grad().toFloatArray());
    }

    @Test
    default void noGradRecordsNothing() {
        Tensor x = t(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor y;
        try (GradMode ng = GradMode.noGrad()) {
            y = x.mul(2f).sum();
        }
        assertTrue(!y.requiresGrad());
        assertNull(y.op());
        assertThrows(IllegalStateException.class, y::backward);
        assertTrue(GradMode.isEnabled());
    }

    @Test
    default void detachStopsGradients() {
        Tensor x = t(new float[] {3}, 1).requiresGrad(true);
        x.mul(x.detach()).sum().backward();
        assertEquals(3f, x.grad().item());
    }

    @Test
    default void clipGradNormAndValueAsPytorch() {
        float[] ca = {3, -4, 0, 1, 2, -2};
        float[] cb = {0.5f, -0.5f, 6, 0};
        try (Parameter a = new Parameter(rand(-1, 1, 2, 3));
                Parameter b = new Parameter(rand(-1, 1, 4));
                Parameter unused = new Parameter(rand(-1, 1, 2))) {
            List<Parameter> ps = List.of(a, b, unused);
            // loss = sum(a * ca) + sum(b * cb): the gradients are ca and cb
            Runnable backward = () -> {
                a.zeroGrad();
                b.zeroGrad();
                a.mul(t(ca, 2, 3)).sum().add(b.mul(t(cb, 4)).sum()).backward();
            };
            backward.run();
            double sq = 0;
            for (float v : ca) {
                sq += v * v;
            }
            for (float v : cb) {
                sq += v * v;
            }
            double norm = Math.sqrt(sq);
            assertEquals(norm, ClipGrad.clipGradNorm(ps, 1.0), 1e-5);
            float[] scaled = a.grad().toFloatArray();
            for (int i = 0; i < ca.length; i++) {
                assertEquals(ca[i] / (norm + 1e-6), scaled[i], 1e-6, "clipGradNorm a[" + i + "]");
            }
            assertEquals(1.0, ClipGrad.clipGradNorm(ps, 10.0), 1e-4, "already within the bound: only measured");
            assertEquals(cb[2] / (norm + 1e-6), b.grad().toFloatArray()[2], 1e-6);
            backward.run();
            ClipGrad.clipGradValue(ps, 2.5);
            assertArrayEquals(new float[] {2.5f, -2.5f, 0, 1, 2, -2}, a.grad().toFloatArray());
            assertArrayEquals(new float[] {0.5f, -0.5f, 2.5f, 0}, b.grad().toFloatArray());
            assertNull(unused.grad());
            assertThrows(IllegalArgumentException.class, () -> ClipGrad.clipGradNorm(ps, 0));
        }
    }

    /** swish(x) = x * sigmoid(x) as a user writes it: a composed forward and a hand-written backward rule. */
    private static Tensor swish(Tensor x) {
        Tensor s;
        Tensor out;
        try (GradMode g = GradMode.noGrad()) {
            s = x.sigmoid();
            out = x.mul(s);
        }
        return Autograd.record(out, "swish", d -> new Tensor[] {d.mul(s.add(out.mul(s.rsub(1f))))}, x);
    }

    /** |x| * y straight on backend kernels, the way Functional's ops are written. */
    private static Tensor absTimes(Tensor x, Tensor y) {
        Backend be = x.backend();
        Tensor ax = Tensor.empty(be, DType.FLOAT32, x.shape().dims());
        be.unary(UnaryOp.ABS, 0f, x.operand(), ax.operand());
        Tensor out = ax.applyKernel(BinaryOp.MUL, y);
        Tensor sign = x.applyKernel(UnaryOp.GT_SCALAR, 0f).sub(x.neg().applyKernel(UnaryOp.GT_SCALAR, 0f));
        return Autograd.record(
                out, "absTimes", x, d -> d.mul(sign).mul(y), y, d -> d.mul(ax).sumTo(y.shape()));
    }

    @Test
    default void customOpsThroughThePublicApiGetGradients() {
        Tensor x = rand(-2, 2, 3, 5);
        float[] xs = x.toFloatArray();
        float[] y = swish(x).toFloatArray();
        for (int i = 0; i < xs.length; i++) {
            assertEquals(xs[i] / (1 + Math.exp(-xs[i])), y[i], 1e-5, "swish at " + i);
        }
        gradCheck("custom swish", a -> swish(a[0]), rand(-2, 2, 3, 5));
        gradCheck("custom absTimes broadcast", a -> absTimes(a[0], a[1]), rand(0.2f, 1, 2, 3), rand(-1, 1, 3));
        assertEquals("swish", swish(rand(-1, 1, 2).requiresGrad(true)).op());
        try (GradMode g = GradMode.noGrad()) {
            assertNull(swish(rand(-1, 1, 2).requiresGrad(true)).op(), "no recording with gradients off");
        }
        Tensor released = rand(-1, 1, 2);
        released.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> released.requireOpen("swish"));
        assertTrue(e.getMessage().startsWith("swish:"), e.getMessage());
    }

    @Test
    default void badCustomOpGradientShapeIsNamed() {
        Tensor x = rand(-1, 1, 2, 3).requiresGrad(true);
        Tensor out = Autograd.record(x.mul(2f), "wrongShape", d -> new Tensor[] {d.sum(0, false)}, x);
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> out.sum().backward());
        assertTrue(e.getMessage().contains("'wrongShape' gave a gradient [3] for an input [2, 3]"), e.getMessage());
    }

    @Test
    default void fusedKernelsRejectOperandsThatAreNotDense() {
        Backend be = suiteBackend();
        Tensor x = rand(-1, 1, 1, 1, 4, 4);
        Tensor w = rand(-1, 1, 1, 1, 3, 3);
        Tensor out = Tensor.empty(be, DType.FLOAT32, 1, 1, 4, 4);
        ConvParams cp = new ConvParams(1, 1, 1, 1, 1, 1, 1);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> be.conv2d(x.transpose(2, 3).operand(), w.operand(), null, out.operand(), cp));
        assertTrue(e.getMessage().startsWith("conv2d: needs dense operands"), e.getMessage());
    }

    @Test
    default void recordKeepsTheInputsOfItsCallWhenTheCallersArrayIsReused() {
        Tensor a = t(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor b = t(new float[] {3, 4}, 2).requiresGrad(true);
        Tensor[] args = {a};
        Tensor y;
        try (GradMode g = GradMode.noGrad()) {
            y = a.mul(2f);
        }
        y = Autograd.record(y, "twice", d -> new Tensor[] {d.mul(2f)}, args);
        args[0] = b; // refilled for the next call
        y.sum().backward();
        assertArrayEquals(new float[] {2, 2}, a.grad().toFloatArray(), "a's gradient");
        assertNull(b.grad(), "b took no part");
    }
}
