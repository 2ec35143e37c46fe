package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Activations;
import dev.gradus.Functional;
import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.Parameter;
import dev.gradus.ops.BuiltInOps;
import dev.gradus.ops.Op;
import dev.gradus.ops.ShapeRule;
import dev.gradus.optim.SGD;
import dev.gradus.spi.Backend;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.UnaryOp;
import dev.gradus.testing.ReferenceBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * Users' ops through {@link Op}: a Java kernel with a CUDA source, against plain references on odd shapes
 * (including strided views and a convolution's output, which the CPU backend may hold in a blocked oneDNN layout),
 * gradients against central differences, training inside a small model, the errors (shape rule, no backward,
 * mixed backends), and the built-in ops that go through {@link Op} keeping their results. Part of
 * {@link BackendConformance}, so every backend runs it; the CUDA backend runs the CUDA sources (on the emulator,
 * host-compiled), the others the Java kernels.
 */
interface CustomOpConformance extends SuiteHelpers {
    /** The ops under test, defined as a user would. */
    final class Ops {
        private Ops() {}

        /** {@code x * sigmoid(a * x)} with a learnable {@code a} of shape {@code [1]}: two inputs, two gradients. */
        static final Op SWISH_A = Op.builder("swish_a")
                .arity(2)
                .shape(shapes -> {
                    if (!Arrays.equals(shapes[1], new int[] {1})) {
                        throw new IllegalArgumentException("a must have shape [1]");
                    }
                    return shapes[0].clone();
                })
                .cpu((in, shapes, out, outShape) -> {
                    float a = in[1].get(0);
                    for (int i = 0; i < out.limit(); i++) {
                        float x = in[0].get(i);
                        out.put(i, (float) (x / (1 + Math.exp(-a * x))));
                    }
                })
                .cuda("""
                        extern "C" __global__ void test_swish_a(float* out, long long n, const float* x, long long nx,
                                                                const float* a, long long na) {
                            long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                            if (i < n) {
                                float v = x[i];
                                out[i] = v / (1.f + expf(-a[0] * v));
                            }
                        }
                        """, "test_swish_a")
                .backward((d, out, in) -> {
                    Tensor x = in[0];
                    Tensor a = in[1];
                    Tensor s = x.mul(a).sigmoid();
                    Tensor ds = s.mul(s.rsub(1f));
                    return new Tensor[] {
                        d.mul(s.add(x.mul(a).mul(ds))), d.mul(x).mul(x).mul(ds).sumTo(a.shape())
                    };
                })
                .build();

        /** {@code a * b + c}, three inputs of one shape. */
        static final Op FMA = Op.builder("fma")
                .arity(3)
                .shape(ShapeRule.sameShapes())
                .cpu((in, shapes, out, outShape) -> {
                    for (int i = 0; i < out.limit(); i++) {
                        out.put(i, in[0].get(i) * in[1].get(i) + in[2].get(i));
                    }
                })
                .cuda("""
                        extern "C" __global__ void test_fma(float* out, long long n, const float* a, long long na,
                                                            const float* b, long long nb, const float* c, long long nc) {
                            long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                            if (i < n) out[i] = a[i] * b[i] + c[i];
                        }
                        """, "test_fma")
                .backward((d, out, in) -> new Tensor[] {d.mul(in[1]), d.mul(in[0]), d})
                .build();

        /** {@code x * x} with a Java kernel only: the CUDA backend runs it through host copies. */
        static final Op SQUARE = Op.builder("square")
                .shape(ShapeRule.sameShapes())
                .cpu((in, shapes, out, outShape) -> {
                    for (int i = 0; i < out.limit(); i++) {
                        out.put(i, in[0].get(i) * in[0].get(i));
                    }
                })
                .backward((d, out, in) -> new Tensor[] {d.mul(in[0]).mul(2f)})
                .build();

        /** {@code x > 0 ? 1 : 0} with no backward. */
        static final Op STEP = Op.builder("step")
                .shape(ShapeRule.likeFirst())
                .cpu((in, shapes, out, outShape) -> {
                    for (int i = 0; i < out.limit(); i++) {
                        out.put(i, in[0].get(i) > 0 ? 1f : 0f);
                    }
                })
                .cuda("""
                        extern "C" __global__ void test_step(float* out, long long n, const float* x, long long nx) {
                            long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                            if (i < n) out[i] = x[i] > 0.f ? 1.f : 0.f;
                        }
                        """, "test_step")
                .build();

        static double swishA(double x, double a) {
            return x / (1 + Math.exp(-a * x));
        }
    }

    private static void assertNear(double[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5 * Math.max(1, Math.abs(want[i])), what + ": element " + i);
        }
    }

    /** The reference of {@code swish_a} on the values of {@code x} (read back row-major). */
    private static double[] swishReference(float[] x, float a) {
        double[] want = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            want[i] = Ops.swishA(x[i], a);
        }
        return want;
    }

    private static double[] fmaReference(float[] a, float[] b, float[] c) {
        double[] want = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            want[i] = (double) a[i] * b[i] + c[i];
        }
        return want;
    }

    private Tensor uniform(float lo, float hi, int... shape) {
        return t(random(Shape.of(shape).numel(), lo, hi), shape);
    }

    @Test
    default void customOpForwardMatchesReferenceOnOddAndRoundShapes() {
        int[][] shapes = {{1}, {7}, {3, 5}, {2, 3, 5}, {64, 33}, {16, 16}, {0, 3}, {1000}};
        Tensor a = t(new float[] {1.7f}, 1);
        for (int[] s : shapes) {
            String at = Arrays.toString(s);
            Tensor x = uniform(-4, 4, s);
            Tensor y = Ops.SWISH_A.apply(x, a);
            assertArrayEquals(s, y.shape().dims(), "swish_a shape " + at);
            assertNear(swishReference(x.toFloatArray(), 1.7f), y.toFloatArray(), "swish_a " + at);

            Tensor p = uniform(-2, 2, s);
            Tensor q = uniform(-2, 2, s);
            Tensor r = uniform(-2, 2, s);
            assertNear(
                    fmaReference(p.toFloatArray(), q.toFloatArray(), r.toFloatArray()),
                    Ops.FMA.apply(p, q, r).toFloatArray(),
                    "fma " + at);

            float[] xs = x.toFloatArray();
            double[] sq = new double[xs.length];
            for (int i = 0; i < xs.length; i++) {
                sq[i] = (double) xs[i] * xs[i];
            }
            assertNear(sq, Ops.SQUARE.apply(x).toFloatArray(), "square (Java kernel only) " + at);
        }
    }

    @Test
    default void customOpTakesStridedAndOffsetInputs() {
        Tensor base = uniform(-3, 3, 5, 7);
        Tensor a = t(new float[] {-0.6f}, 1);
        List<Tensor> views = List.of(
                base.t(), // [7, 5], strides [1, 7]
                base.narrow(1, 2, 4), // [5, 4], rows 7 apart
                base.narrow(0, 1, 3), // [3, 7], contiguous from element 7
                base.slice(1, 0, 7, 2), // [5, 4], every other column
                t(random(5, -2, 2), 1, 5).expand(7, 5)); // stride 0
        for (Tensor v : views) {
            String what = "swish_a of a view " + v.layout();
            Tensor y = Ops.SWISH_A.apply(v, a);
            assertNear(swishReference(v.toFloatArray(), -0.6f), y.toFloatArray(), what);
        }
        Tensor p = base.t();
        Tensor q = uniform(-1, 1, 7, 5);
        Tensor r = uniform(-1, 1, 5, 7).t();
        assertNear(
                fmaReference(p.toFloatArray(), q.toFloatArray(), r.toFloatArray()),
                Ops.FMA.apply(p, q, r).toFloatArray(),
                "fma of transposed inputs");
    }

    /**
     * A convolution's output, which the CPU backend on oneDNN may hold in a blocked layout ({@code nChw16c}): the
     * op must read it in plain order. The op runs before anything else reads the output.
     */
    @Test
    default void customOpReadsAConvolutionOutput() {
        Tensor x = uniform(-1, 1, 2, 8, 9, 9);
        Tensor w = uniform(-0.5f, 0.5f, 32, 8, 3, 3);
        Tensor a = t(new float[] {1.3f}, 1);
        Tensor y = Functional.conv2d(x, w, null, new ConvParams(1, 1, 1, 1, 1, 1, 1));
        Tensor z = Ops.SWISH_A.apply(y, a);
        Tensor sq = Ops.SQUARE.apply(Functional.conv2d(x, w, null, new ConvParams(1, 1, 1, 1, 1, 1, 1)));
        float[] yv = y.toFloatArray();
        assertNear(swishReference(yv, 1.3f), z.toFloatArray(), "swish_a of a convolution's output");
        double[] want = new double[yv.length];
        for (int i = 0; i < yv.length; i++) {
            want[i] = (double) yv[i] * yv[i];
        }
        assertNear(want, sq.toFloatArray(), "square of a convolution's output");
    }

    @Test
    default void customOpGradientsMatchFiniteDifferences() {
        gradCheck(
                "swish_a [3, 5]",
                in -> Ops.SWISH_A.apply(in[0], in[1]),
                uniform(-2, 2, 3, 5),
                t(new float[] {0.8f}, 1));
        gradCheck(
                "swish_a [2, 3, 7]",
                in -> Ops.SWISH_A.apply(in[0], in[1]),
                uniform(-2, 2, 2, 3, 7),
                t(new float[] {-1.1f}, 1));
        gradCheck(
                "fma [2, 3, 5]",
                in -> Ops.FMA.apply(in[0], in[1], in[2]),
                uniform(-2, 2, 2, 3, 5),
                uniform(-2, 2, 2, 3, 5),
                uniform(-2, 2, 2, 3, 5));
        gradCheck("square [7]", in -> Ops.SQUARE.apply(in[0]), uniform(-2, 2, 7));
        // the op used twice in one graph, on a transposed input: gradients add up and reach the base
        gradCheck(
                "fma(x^T, x^T, swish_a(x^T))",
                in -> {
                    Tensor xt = in[0].t();
                    return Ops.FMA.apply(xt, xt, Ops.SWISH_A.apply(xt, in[1]));
                },
                uniform(-2, 2, 4, 6),
                t(new float[] {0.5f}, 1));
    }

    /**
     * Two copies of one small model trained side by side, one through {@code swish_a} (learnable {@code a}), the
     * other through the same formula in tensor ops: the losses fall and stay equal step by step, and {@code a}
     * moves the same way in both.
     */
    @Test
    default void customOpTrainsInsideAModel() {
        Backend b = suiteBackend();
        Tensor x = uniform(-1, 1, 16, 6);
        Tensor target = uniform(-1, 1, 16, 3);
        BiFunction<Tensor, Tensor, Tensor> byOp = Ops.SWISH_A::apply;
        BiFunction<Tensor, Tensor, Tensor> byTensorOps =
                (h, a) -> h.mul(h.mul(a).sigmoid());
        float[][] losses = new float[2][];
        float[] finalA = new float[2];
        List<BiFunction<Tensor, Tensor, Tensor>> activations = List.of(byOp, byTensorOps);
        for (int m = 0; m < 2; m++) {
            try (Dense d1 = new Dense(b, 6, 8, true, Init.PYTORCH, new Rng(7));
                    Dense d2 = new Dense(b, 8, 3, true, Init.PYTORCH, new Rng(8));
                    Parameter a = new Parameter(Tensor.of(b, new float[] {1f}, 1))) {
                List<Parameter> params = new ArrayList<>(d1.parameters());
                params.addAll(d2.parameters());
                params.add(a);
                try (SGD opt = new SGD(params, SGD.Config.lr(0.2f))) {
                    losses[m] = new float[25];
                    for (int step = 0; step < losses[m].length; step++) {
                        try (Scope s = Scope.open()) {
                            opt.zeroGrad();
                            Tensor y = d2.forward(activations.get(m).apply(d1.forward(x), a));
                            Tensor loss = Functional.mseLoss(y, target);
                            loss.backward();
                            opt.step();
                            losses[m][step] = loss.item();
                        }
                    }
                }
                finalA[m] = a.item();
            }
        }
        float[] l = losses[0];
        assertTrue(l[l.length - 1] < 0.8f * l[0], "loss fell: " + Arrays.toString(l));
        assertNotEquals(1f, finalA[0], "a was trained");
        for (int step = 0; step < l.length; step++) {
            assertEquals(losses[1][step], l[step], 1e-4 * Math.max(1, Math.abs(l[step])), "loss at step " + step);
        }
        assertEquals(finalA[1], finalA[0], 1e-4, "a after training");
    }

    @Test
    default void customOpShapeRuleErrorNamesTheOpAndTheShapes() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Ops.FMA.apply(uniform(0, 1, 3, 4), uniform(0, 1, 3, 4), uniform(0, 1, 5)));
        assertTrue(e.getMessage().startsWith("fma: [3, 4] x [3, 4] x [5]"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> Ops.SWISH_A.apply(uniform(0, 1, 3, 4), uniform(0, 1, 2)));
        assertEquals("swish_a: [3, 4] x [2]: a must have shape [1]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.FMA.apply(uniform(0, 1, 3)));
        assertEquals("fma: takes 3 inputs, got 1: [3]", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> Op.builder("nothing").shape(ShapeRule.likeFirst()).build());
        assertTrue(e.getMessage().startsWith("nothing: give a Java kernel"), e.getMessage());
    }

    @Test
    default void customOpWithoutBackwardSaysSoWhenAGradientIsNeeded() {
        Tensor x = uniform(-1, 1, 4, 3).requiresGrad(true);
        Tensor y = Ops.STEP.apply(x); // the forward runs
        float[] xv = x.toFloatArray();
        float[] yv = y.toFloatArray();
        for (int i = 0; i < xv.length; i++) {
            assertEquals(xv[i] > 0 ? 1f : 0f, yv[i], "step at " + i);
        }
        assertFalse(Ops.STEP.differentiable());
        Tensor loss = y.mul(x).sum();
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, loss::backward);
        assertTrue(e.getMessage().startsWith("step: has no backward, so it is not differentiable"), e.getMessage());
        try (GradMode g = GradMode.noGrad()) {
            assertFalse(Ops.STEP.apply(x).requiresGrad(), "nothing recorded under noGrad");
        }
    }

    @Test
    default void customOpRejectsInputsOnTwoBackends() {
        Backend other = new ReferenceBackend();
        Tensor x = uniform(-1, 1, 3, 4);
        try (Tensor a = Tensor.of(other, new float[] {1f}, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.SWISH_A.apply(x, a));
            assertTrue(e.getMessage().startsWith("swish_a: tensors on "), e.getMessage());
            assertTrue(e.getMessage().contains("move one with to()"), e.getMessage());
        }
    }

    /** No scope on a fresh thread: the caller closes what it made; and under noGrad nothing is recorded. */
    @Test
    default void customOpRunsWithoutAScopeAndUnderNoGrad() throws InterruptedException {
        Backend b = suiteBackend();
        float[] xv = random(11, -3, 3);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread th = new Thread(() -> {
            try (Tensor x = Tensor.of(b, xv, 11);
                    Tensor a = Tensor.of(b, new float[] {0.9f}, 1);
                    Tensor y = Ops.SWISH_A.apply(x, a)) {
                assertNear(swishReference(xv, 0.9f), y.toFloatArray(), "swish_a without a scope");
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        th.start();
        th.join();
        if (failure.get() != null) {
            throw new AssertionError("without a scope", failure.get());
        }
        Tensor x = t(xv, 11).requiresGrad(true);
        Tensor a = t(new float[] {0.9f}, 1).requiresGrad(true);
        Tensor y;
        try (GradMode g = GradMode.noGrad()) {
            y = Ops.SWISH_A.apply(x, a);
        }
        assertFalse(y.requiresGrad(), "no graph under noGrad");
        assertNear(swishReference(xv, 0.9f), y.toFloatArray(), "swish_a under noGrad");
        assertTrue(Ops.SWISH_A.apply(x, a).requiresGrad(), "recorded with gradients on");
        assertEquals("swish_a", Ops.SWISH_A.apply(x, a).op());
    }

    /** The built-ins defined through {@link Op} give bit for bit what their tensor-op forms give. */
    @Test
    default void customOpBuiltInsKeepTheirResults() {
        Tensor x = uniform(-4, 4, 3, 7);
        assertArrayEquals(x.mul(x.sigmoid()).toFloatArray(), Activations.silu(x).toFloatArray(), "silu");
        Tensor inner = x.add(x.pow(3f).mul(0.044715f)).mul((float) Math.sqrt(2 / Math.PI));
        assertArrayEquals(
                x.mul(inner.tanh().add(1f)).mul(0.5f).toFloatArray(),
                Activations.geluTanh(x).toFloatArray(),
                "geluTanh");
        assertArrayEquals(x.applyKernel(UnaryOp.SIN, 0f).toFloatArray(), x.sin().toFloatArray(), "sin");
        assertArrayEquals(x.applyKernel(UnaryOp.COS, 0f).toFloatArray(), x.cos().toFloatArray(), "cos");
        assertArrayEquals(
                BuiltInOps.SILU.apply(x).toFloatArray(), Activations.silu(x).toFloatArray(), "SILU is silu");
        Tensor g = uniform(-2, 2, 2, 5).requiresGrad(true);
        assertEquals("sin", g.sin().op());
        gradCheck("sin through Op", in -> in[0].sin(), uniform(-3, 3, 2, 5));
        gradCheck("cos through Op", in -> in[0].cos(), uniform(-3, 3, 2, 5));
        gradCheck("silu through Op", in -> Activations.silu(in[0]), uniform(-3, 3, 2, 5));
        gradCheck("geluTanh through Op", in -> Activations.geluTanh(in[0]), uniform(-3, 3, 2, 5));
    }
}
