package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Anomaly;
import dev.gradus.AnomalyException;
import dev.gradus.Autograd;
import dev.gradus.Backends;
import dev.gradus.DType;
import dev.gradus.Functional;
import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.ClipGrad;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Dropout;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.LayerException;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.optim.SGD;
import dev.gradus.spi.AdamStep;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.UnaryOp;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The suite every backend runs: each op against a plain Java reference, each gradient against central finite
 * differences, on odd and round shapes and broadcasting edge cases.
 *
 * <p>A backend's test extends this class and returns its backend from {@link #backend()}. Tolerances: forward
 * ops 1e-5 relative (GEMM 1e-4, it reorders sums), gradients 2e-2 (float32 finite differences).
 */
public abstract class BackendConformance
        implements TensorOpsConformance,
                NanAndSizesConformance,
                SummaryConformance,
                FusionConformance,
                ConvTransposeConformance,
                ActivationsAndLossesConformance,
                SequenceLayersConformance,
                ReductionsAndSelectionConformance,
                SortAndTopkConformance,
                SlicingAndPoolingConformance,
                ReferenceDifferential,
                ReferenceDifferentialPaths,
                CustomOpConformance {
    /** The backend under test. */
    protected abstract Backend backend();

    private Scope scope;
    protected final Rng rng = new Rng(1234);

    @BeforeEach
    void openScope() {
        Backends.setDefault(backend());
        scope = Scope.open();
    }

    @AfterEach
    void closeScope() {
        if (scope != null) { // null when backend() skipped the test
            scope.close();
            scope = null;
        }
    }

    // ------------------------------------------------------------------ helpers

    @Override
    public Backend suiteBackend() {
        return backend();
    }

    @Override
    public Tensor t(float[] data, int... shape) {
        return Tensor.of(backend(), data, shape);
    }

    @Override
    public float[] random(int n, float lo, float hi) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = lo + (hi - lo) * rng.nextFloat();
        }
        return d;
    }

    @Override
    public Tensor rand(float lo, float hi, int... shape) {
        return t(random(Shape.of(shape).numel(), lo, hi), shape);
    }

    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            double err = Math.abs(e - a) / Math.max(1.0, Math.abs(e));
            if (!(err <= tol) && !(Double.isNaN(e) && Double.isNaN(a))) {
                throw new AssertionError(what + ": element " + i + " expected " + e + " got " + a + " (rel err " + err
                        + ")\nexpected " + Arrays.toString(expected) + "\nactual   " + Arrays.toString(actual));
            }
        }
    }

    /** Reference broadcast: the element of {@code src} (shape {@code s}) that output index {@code flat} reads. */
    static int broadcastIndex(int flat, int[] out, int[] s) {
        int idx = 0;
        int stride = 1;
        int rem = flat;
        int[] coords = new int[out.length];
        for (int d = out.length - 1; d >= 0; d--) {
            coords[d] = rem % out[d];
            rem /= out[d];
        }
        for (int d = s.length - 1; d >= 0; d--) {
            int od = d + out.length - s.length;
            int c = s[d] == 1 ? 0 : coords[od];
            idx += c * stride;
            stride *= s[d];
        }
        return idx;
    }

    /**
     * Checks d(sum(f(x) * w))/dx of every input against central differences, with a fixed random {@code w}.
     */
    @Override
    public void gradCheck(String what, Function<Tensor[], Tensor> f, Tensor... inputs) {
        gradCheck(what, f, 0, inputs);
    }

    /** As above with a fixed step {@code h} (0: relative steps), for functions with nearby kinks. */
    @Override
    public void gradCheck(String what, Function<Tensor[], Tensor> f, double step, Tensor... inputs) {
        for (Tensor in : inputs) {
            in.requiresGrad(true);
        }
        Tensor out = f.apply(inputs);
        float[] w = random(out.numel(), -1f, 1f);
        Tensor wt = t(w, out.shape().dims());
        Tensor loss = out.mul(wt).sum();
        loss.backward();
        for (int k = 0; k < inputs.length; k++) {
            Tensor in = inputs[k];
            assertNotNull(in.grad(), what + ": input " + k + " got no gradient");
            float[] analytic = in.grad().toFloatArray();
            float[] x = in.toFloatArray();
            float[] numeric = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                double h = step > 0 ? step : 1e-2 * Math.max(1.0, Math.abs(x[i]));
                numeric[i] =
                        (float) ((evalAt(f, inputs, k, x, i, x[i] + h, wt) - evalAt(f, inputs, k, x, i, x[i] - h, wt))
                                / (2 * h));
            }
            assertClose(numeric, analytic, 2e-2, what + ": gradient of input " + k);
        }
    }

    private double evalAt(Function<Tensor[], Tensor> f, Tensor[] inputs, int k, float[] x, int i, double v, Tensor w) {
        try (Scope s = Scope.open();
                GradMode ng = GradMode.noGrad()) {
            float[] xv = x.clone();
            xv[i] = (float) v;
            Tensor[] args = inputs.clone();
            args[k] = t(xv, inputs[k].shape().dims());
            double acc = 0;
            float[] o = f.apply(args).toFloatArray();
            float[] wv = w.toFloatArray();
            for (int j = 0; j < o.length; j++) {
                acc += (double) o[j] * wv[j];
            }
            return acc;
        }
    }

    // ------------------------------------------------------------------ elementwise forward

    private void checkUnary(String name, Function<Tensor, Tensor> op, DoubleUnaryOperator ref, float lo, float hi) {
        for (int[] shape : new int[][] {{3, 5, 7}, {4, 8}, {1}, {}}) {
            Tensor x = rand(lo, hi, shape);
            float[] xv = x.toFloatArray();
            float[] expected = new float[xv.length];
            for (int i = 0; i < xv.length; i++) {
                expected[i] = (float) ref.applyAsDouble(xv[i]);
            }
            Tensor y = op.apply(x);
            assertEquals(x.shape(), y.shape(), name + " shape");
            assertClose(expected, y.toFloatArray(), 1e-5, name + " on " + Arrays.toString(shape));
        }
        // strided input: a transposed view
        Tensor x = rand(lo, hi, 5, 3);
        Tensor xt = x.t();
        float[] xv = xt.contiguous().toFloatArray();
        float[] expected = new float[xv.length];
        for (int i = 0; i < xv.length; i++) {
            expected[i] = (float) ref.applyAsDouble(xv[i]);
        }
        assertClose(expected, op.apply(xt).toFloatArray(), 1e-5, name + " on a transposed view");
    }

    @Test
    void unaryOpsMatchReference() {
        checkUnary("neg", Tensor::neg, v -> -v, -3, 3);
        checkUnary("exp", Tensor::exp, Math::exp, -3, 3);
        checkUnary("log", Tensor::log, Math::log, 0.1f, 5);
        checkUnary("sqrt", Tensor::sqrt, Math::sqrt, 0.1f, 5);
        checkUnary("abs", Tensor::abs, Math::abs, -3, 3);
        checkUnary("relu", Tensor::relu, v -> Math.max(v, 0), -3, 3);
        checkUnary("sigmoid", Tensor::sigmoid, v -> 1 / (1 + Math.exp(-v)), -8, 8);
        checkUnary("tanh", Tensor::tanh, Math::tanh, -3, 3);
        checkUnary("add scalar", x -> x.add(2.5f), v -> v + 2.5, -3, 3);
        checkUnary("mul scalar", x -> x.mul(-1.5f), v -> v * -1.5, -3, 3);
        checkUnary("pow", x -> x.pow(3f), v -> v * v * v, -2, 2);
        checkUnary("rsub", x -> x.rsub(1f), v -> 1 - v, -2, 2);
        checkUnary("erf", Tensor::erf, BackendConformance::refErf, -4, 4);
        checkUnary("sin", Tensor::sin, Math::sin, -7, 7);
        checkUnary("cos", Tensor::cos, Math::cos, -7, 7);
        checkUnary("gelu", Tensor::gelu, v -> v / 2 * (1 + refErf(v / Math.sqrt(2))), -4, 4);
    }

    /** Reference erf by Simpson's rule on {@code 2/sqrt(pi) exp(-t^2)} (independent of any backend's formula). */
    public static double refErf(double x) {
        int n = 2000;
        double h = x / n;
        double s = 1 + Math.exp(-x * x);
        for (int i = 1; i < n; i++) {
            s += (i % 2 == 1 ? 4 : 2) * Math.exp(-(i * h) * (i * h));
        }
        return s * h / 3 * 2 / Math.sqrt(Math.PI);
    }

    @Test
    void sigmoidIsStableForLargeInputs() {
        float[] y = t(new float[] {-1000f, 1000f, 0f}, 3).sigmoid().toFloatArray();
        assertArrayEquals(new float[] {0f, 1f, 0.5f}, y, 1e-7f);
    }

    private void checkBinary(
            String name,
            BiFunction<Tensor, Tensor, Tensor> op,
            DoubleBinaryOperator ref,
            int[] sa,
            int[] sb,
            float lo,
            float hi) {
        Tensor a = rand(lo, hi, sa);
        Tensor b = rand(lo, hi, sb);
        Tensor y = op.apply(a, b);
        int[] out = y.shape().dims();
        assertEquals(Shape.broadcast(name, Shape.of(sa), Shape.of(sb)), y.shape(), name + " shape");
        float[] av = a.toFloatArray();
        float[] bv = b.toFloatArray();
        float[] expected = new float[y.numel()];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (float) ref.applyAsDouble(av[broadcastIndex(i, out, sa)], bv[broadcastIndex(i, out, sb)]);
        }
        assertClose(
                expected, y.toFloatArray(), 1e-5, name + " " + Arrays.toString(sa) + " with " + Arrays.toString(sb));
    }

    static final int[][][] BROADCAST_CASES = {
        {{3, 5}, {3, 5}},
        {{4, 8}, {8}},
        {{3, 1, 5}, {4, 5}},
        {{5, 1}, {1, 6}},
        {{2, 3}, {}},
        {{}, {2, 3}},
        {{1}, {7}},
        {{2, 1, 3, 1}, {1, 4, 1, 5}},
        {{1, 1}, {1, 1}},
    };

    @Test
    void binaryOpsBroadcastLikeNumpy() {
        // a bias broadcast over many short rows, either operand first, over several tiles and threads
        for (int[][] c : new int[][][] {{{6000, 100}, {100}}, {{10}, {3000, 10}}, {{1, 7}, {5, 7}}}) {
            checkBinary("add", Tensor::add, Double::sum, c[0], c[1], -3, 3);
            checkBinary("sub", Tensor::sub, (x, y) -> x - y, c[0], c[1], -3, 3);
        }
        for (int[][] c : BROADCAST_CASES) {
            checkBinary("add", Tensor::add, Double::sum, c[0], c[1], -3, 3);
            checkBinary("sub", Tensor::sub, (x, y) -> x - y, c[0], c[1], -3, 3);
            checkBinary("mul", Tensor::mul, (x, y) -> x * y, c[0], c[1], -3, 3);
            checkBinary("div", Tensor::div, (x, y) -> x / y, c[0], c[1], 0.5f, 3);
            checkBinary("maximum", Tensor::maximum, Math::max, c[0], c[1], -3, 3);
        }
    }

    @Test
    void binaryOpsOnTransposedViews() {
        Tensor a = rand(-1, 1, 4, 6);
        Tensor b = rand(-1, 1, 6, 4);
        float[] expected = a.t().contiguous().add(b).toFloatArray();
        assertClose(expected, a.t().add(b).toFloatArray(), 0, "add on a transposed view");
    }

    @Test
    void incompatibleShapesNameTheOpAndShapes() {
        Tensor a = rand(0, 1, 3, 4);
        Tensor b = rand(0, 1, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
        assertTrue(
                e.getMessage().contains("add")
                        && e.getMessage().contains("[3, 4]")
                        && e.getMessage().contains("[5]"),
                e.getMessage());
        IllegalArgumentException m = assertThrows(
                IllegalArgumentException.class, () -> rand(0, 1, 32, 784).matmul(rand(0, 1, 48, 784)));
        assertTrue(m.getMessage().contains("matmul: [32, 784] x [48, 784]"), m.getMessage());
    }

    // ------------------------------------------------------------------ matmul

    static float[] refMatmul(float[] a, float[] b, int batch, int m, int k, int n, boolean bBroadcast) {
        float[] out = new float[batch * m * n];
        for (int p = 0; p < batch; p++) {
            int bo = bBroadcast ? 0 : p * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int q = 0; q < k; q++) {
                        acc += (double) a[p * m * k + i * k + q] * b[bo + q * n + j];
                    }
                    out[p * m * n + i * n + j] = (float) acc;
                }
            }
        }
        return out;
    }

    @Test
    void matmulMatchesReference() {
        // {1000, 784, 48} and {513, 7, 3}: the many-row products (inference batches) a backend may route elsewhere
        int[][] sizes = {
            {7, 13, 5},
            {64, 64, 64},
            {1, 9, 1},
            {3, 1, 4},
            {128, 784, 48},
            {33, 17, 65},
            {1000, 784, 48},
            {513, 7, 3},
            {600, 1, 5}
        };
        for (int[] s : sizes) {
            Tensor a = rand(-1, 1, s[0], s[1]);
            Tensor b = rand(-1, 1, s[1], s[2]);
            assertClose(
                    refMatmul(a.toFloatArray(), b.toFloatArray(), 1, s[0], s[1], s[2], false),
                    a.matmul(b).toFloatArray(),
                    1e-4,
                    "matmul " + Arrays.toString(s));
            // the same product through transposed views (BLAS trans flags)
            Tensor at = a.t().contiguous().t();
            Tensor bt = b.t().contiguous().t();
            assertClose(
                    refMatmul(a.toFloatArray(), b.toFloatArray(), 1, s[0], s[1], s[2], false),
                    at.matmul(bt).toFloatArray(),
                    1e-4,
                    "matmul of transposed views " + Arrays.toString(s));
            assertClose(
                    refMatmul(a.toFloatArray(), b.toFloatArray(), 1, s[0], s[1], s[2], false),
                    a.matmul(bt).toFloatArray(),
                    1e-4,
                    "matmul by a transposed view (a Dense weight) " + Arrays.toString(s));
            assertClose(
                    refMatmul(a.toFloatArray(), b.toFloatArray(), 1, s[0], s[1], s[2], false),
                    at.matmul(b).toFloatArray(),
                    1e-4,
                    "matmul of a transposed view " + Arrays.toString(s));
        }
    }

    @Test
    void matmulBatchedAndVectors() {
        Tensor a = rand(-1, 1, 2, 3, 4);
        Tensor b = rand(-1, 1, 2, 4, 5);
        assertClose(
                refMatmul(a.toFloatArray(), b.toFloatArray(), 2, 3, 4, 5, false),
                a.matmul(b).toFloatArray(),
                1e-4,
                "batched matmul");
        Tensor b2 = rand(-1, 1, 4, 5);
        Tensor y = a.matmul(b2);
        assertEquals(Shape.of(2, 3, 5), y.shape());
        assertClose(
                refMatmul(a.toFloatArray(), b2.toFloatArray(), 2, 3, 4, 5, true),
                y.toFloatArray(),
                1e-4,
                "matmul with broadcast batch");
        Tensor v = rand(-1, 1, 4);
        Tensor mv = b2.t().matmul(v);
        assertEquals(Shape.of(5), mv.shape());
        assertClose(
                refMatmul(b2.t().contiguous().toFloatArray(), v.toFloatArray(), 1, 5, 4, 1, false),
                mv.toFloatArray(),
                1e-4,
                "matrix-vector");
        Tensor vm = v.matmul(b2);
        assertEquals(Shape.of(5), vm.shape());
        assertClose(
                refMatmul(v.toFloatArray(), b2.toFloatArray(), 1, 1, 4, 5, false),
                vm.toFloatArray(),
                1e-4,
                "vector-matrix");
    }

    @Test
    void matmulOfNonBlasLayoutCopies() {
        // a narrowed column block of a transposed tensor has neither unit stride
        Tensor base = rand(-1, 1, 6, 8, 2);
        Tensor odd = base.transpose(0, 2).narrow(0, 1, 1).reshape(8, 6).t();
        Tensor b = rand(-1, 1, 8, 3);
        assertClose(
                refMatmul(odd.contiguous().toFloatArray(), b.toFloatArray(), 1, 6, 8, 3, false),
                odd.matmul(b).toFloatArray(),
                1e-4,
                "matmul of a strided view");
    }

    // ------------------------------------------------------------------ reductions

    @Test
    void reductionsAlongEachAxis() {
        // the second shape has many short rows: several buffer loads of rows, and more than one thread
        for (int[] shape : new int[][] {{3, 5, 7}, {3000, 10, 9}}) {
            reductionsAlongEachAxis(shape);
        }
    }

    private void reductionsAlongEachAxis(int[] shape) {
        Tensor x = rand(-2, 2, shape);
        float[] xv = x.toFloatArray();
        for (int axis = 0; axis < 3; axis++) {
            int[] outShape = Shape.of(shape).reduce(axis, false).dims();
            int n = Shape.of(outShape).numel();
            float[] sum = new float[n];
            float[] max = new float[n];
            int[] arg = new int[n];
            Arrays.fill(max, Float.NEGATIVE_INFINITY);
            int[] c = new int[3];
            for (c[0] = 0; c[0] < shape[0]; c[0]++) {
                for (c[1] = 0; c[1] < shape[1]; c[1]++) {
                    for (c[2] = 0; c[2] < shape[2]; c[2]++) {
                        float v = xv[(c[0] * shape[1] + c[1]) * shape[2] + c[2]];
                        int o = 0;
                        for (int d = 0; d < 3; d++) {
                            if (d != axis) {
                                o = o * shape[d] + c[d];
                            }
                        }
                        sum[o] += v;
                        if (v > max[o]) {
                            max[o] = v;
                            arg[o] = c[axis];
                        }
                    }
                }
            }
            // 3000 float terms of +-2, added in any order a backend likes, cancel to sums below 1 with errors near 1e-4
            double sumTol = shape[axis] > 100 ? 2e-3 : 1e-5;
            assertClose(sum, x.sum(axis, false).toFloatArray(), sumTol, "sum axis " + axis);
            float[] mean = sum.clone();
            for (int i = 0; i < n; i++) {
                mean[i] /= shape[axis];
            }
            assertClose(mean, x.mean(axis, false).toFloatArray(), 1e-5, "mean axis " + axis);
            assertClose(max, x.max(axis, false).toFloatArray(), 0, "max axis " + axis);
            assertArrayEquals(arg, x.argmax(axis).toIntArray(), "argmax axis " + axis);
            assertEquals(
                    Shape.of(Shape.of(shape).reduce(axis, true).dims()),
                    x.sum(axis, true).shape());
        }
        double total = 0;
        for (float v : xv) {
            total += v;
        }
        assertEquals(total, x.sum().item(), 1e-4 * Math.max(1, Math.sqrt(xv.length)));
        assertEquals(0, x.sum().shape().rank());
        assertEquals(total / xv.length, x.mean().item(), 1e-5);
    }

    // ------------------------------------------------------------------ views

    @Test
    void viewsShareStorageAndCopyCorrectly() {
        Tensor x = t(new float[] {0, 1, 2, 3, 4, 5}, 2, 3);
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, x.t().toFloatArray());
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, x.reshape(3, 2).toFloatArray());
        assertEquals(Shape.of(3, 2), x.reshape(-1, 2).shape());
        assertArrayEquals(new float[] {3, 4, 5}, x.slice(1, 2).toFloatArray());
        assertArrayEquals(new float[] {1, 2, 4, 5}, x.narrow(1, 1, 2).toFloatArray());
        assertArrayEquals(
                new float[] {0, 1, 2, 3, 4, 5, 0, 1, 2},
                Tensor.cat(List.of(x, x.slice(0, 1)), 0).toFloatArray());
        assertArrayEquals(
                new float[] {0, 1, 2, 0, 3, 4, 5, 3},
                Tensor.cat(List.of(x, x.narrow(1, 0, 1)), 1).toFloatArray());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, x.t().reshape(6).toFloatArray());
        assertEquals(Shape.of(2, 1, 3), x.unsqueeze(1).shape());
        assertEquals(Shape.of(2, 3), x.unsqueeze(1).squeeze(1).shape());
        assertThrows(IllegalArgumentException.class, () -> x.reshape(4, 2));
        assertThrows(IllegalArgumentException.class, () -> x.slice(1, 3));
    }

    @Test
    void intTensorsAndDtypeConversion() {
        Tensor labels = Tensor.ofInts(backend(), new int[] {3, 0, 2, 1}, 4);
        assertEquals(DType.INT32, labels.dtype());
        assertArrayEquals(new int[] {0, 2}, labels.slice(1, 3).toIntArray());
        assertArrayEquals(new float[] {3, 0, 2, 1}, labels.toFloat().toFloatArray());
        Tensor pred = t(new float[] {0, 0, 0, 9, 5, 0, 0, 0, 0, 1, 7, 0, 0, 8, 0, 0}, 4, 4)
                .argmax(1);
        assertArrayEquals(new int[] {3, 0, 2, 1}, pred.toIntArray());
        assertEquals(4f, pred.eq(labels).sum().item());
        assertThrows(IllegalArgumentException.class, () -> labels.requiresGrad(true));
    }

    // ------------------------------------------------------------------ softmax and loss

    @Test
    void logSoftmaxAndSoftmaxMatchReferenceAndStayStable() {
        for (int[] shape : new int[][] {{4, 10}, {3, 7}, {1, 1}}) {
            Tensor x = rand(-5, 5, shape);
            float[] xv = x.toFloatArray();
            int cols = shape[1];
            float[] expected = new float[xv.length];
            for (int r = 0; r < shape[0]; r++) {
                double mx = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < cols; c++) {
                    mx = Math.max(mx, xv[r * cols + c]);
                }
                double s = 0;
                for (int c = 0; c < cols; c++) {
                    s += Math.exp(xv[r * cols + c] - mx);
                }
                for (int c = 0; c < cols; c++) {
                    expected[r * cols + c] = (float) (xv[r * cols + c] - mx - Math.log(s));
                }
            }
            assertClose(expected, x.logSoftmax(-1).toFloatArray(), 1e-5, "logSoftmax");
            float[] sm = x.softmax(1).toFloatArray();
            for (int i = 0; i < sm.length; i++) {
                assertEquals(Math.exp(expected[i]), sm[i], 1e-6);
            }
        }
        float[] big = t(new float[] {1000f, 1000f, -1000f}, 1, 3).logSoftmax(1).toFloatArray();
        assertClose(
                new float[] {(float) -Math.log(2), (float) -Math.log(2), -2000f - (float) Math.log(2)},
                big,
                1e-5,
                "logSoftmax of large logits");
        // axis 0 goes through a transpose
        Tensor x = rand(-1, 1, 3, 4);
        assertClose(
                x.t().logSoftmax(1).t().contiguous().toFloatArray(),
                x.logSoftmax(0).toFloatArray(),
                1e-6,
                "logSoftmax on axis 0");
    }

    @Test
    void crossEntropyWithLabelsAndOneHot() {
        Tensor logits = rand(-3, 3, 5, 4);
        int[] y = {0, 3, 1, 1, 2};
        float[] lv = logits.toFloatArray();
        double expected = 0;
        float[] onehot = new float[20];
        for (int r = 0; r < 5; r++) {
            double mx = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < 4; c++) {
                mx = Math.max(mx, lv[r * 4 + c]);
            }
            double s = 0;
            for (int c = 0; c < 4; c++) {
                s += Math.exp(lv[r * 4 + c] - mx);
            }
            expected -= lv[r * 4 + y[r]] - mx - Math.log(s);
            onehot[r * 4 + y[r]] = 1;
        }
        expected /= 5;
        assertEquals(
                expected, logits.crossEntropy(Tensor.ofInts(backend(), y, 5)).item(), 1e-5);
        assertEquals(expected, logits.crossEntropy(t(onehot, 5, 4)).item(), 1e-5);
        float huge = t(new float[] {1e4f, -1e4f}, 1, 2)
                .crossEntropy(Tensor.ofInts(backend(), new int[] {1}, 1))
                .item();
        assertEquals(2e4f, huge, 1f);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> logits.crossEntropy(Tensor.ofInts(backend(), new int[] {0, 3, 4, 1, 2}, 5)));
        assertTrue(e.getMessage().contains("label 4 at index 2"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> logits.crossEntropy(Tensor.ofInts(backend(), new int[] {0, 1}, 2)));
    }

    // ------------------------------------------------------------------ gradients

    @Test
    void elementwiseGradients() {
        gradCheck("neg", a -> a[0].neg(), rand(-1, 1, 3, 4));
        gradCheck("exp", a -> a[0].exp(), rand(-1, 1, 3, 4));
        gradCheck("log", a -> a[0].log(), rand(0.5f, 2, 3, 4));
        gradCheck("sqrt", a -> a[0].sqrt(), rand(0.5f, 2, 5));
        gradCheck("pow", a -> a[0].pow(3f), rand(0.5f, 2, 5));
        gradCheck("sigmoid", a -> a[0].sigmoid(), rand(-3, 3, 2, 7));
        gradCheck("tanh", a -> a[0].tanh(), rand(-2, 2, 2, 7));
        gradCheck("erf", a -> a[0].erf(), rand(-2, 2, 2, 7));
        gradCheck("sin", a -> a[0].sin(), rand(-4, 4, 3, 5));
        gradCheck("cos", a -> a[0].cos(), rand(-4, 4, 3, 5));
        gradCheck("gelu", a -> a[0].gelu(), rand(-3, 3, 3, 5));
        gradCheck("relu", a -> a[0].relu(), t(new float[] {-2f, -0.5f, 0.4f, 1.5f, 3f, -1.2f}, 2, 3));
        gradCheck("abs", a -> a[0].abs(), t(new float[] {-2f, -0.5f, 0.4f, 1.5f}, 4));
        gradCheck("scalar ops", a -> a[0].mul(3f).add(1f).div(2f).sub(0.5f), rand(-1, 1, 3));
    }

    @Test
    void broadcastingBinaryGradients() {
        for (int[][] c : BROADCAST_CASES) {
            String s = Arrays.toString(c[0]) + " with " + Arrays.toString(c[1]);
            gradCheck("add " + s, a -> a[0].add(a[1]), rand(-1, 1, c[0]), rand(-1, 1, c[1]));
            gradCheck("sub " + s, a -> a[0].sub(a[1]), rand(-1, 1, c[0]), rand(-1, 1, c[1]));
            gradCheck("mul " + s, a -> a[0].mul(a[1]), rand(-1, 1, c[0]), rand(-1, 1, c[1]));
            gradCheck("div " + s, a -> a[0].div(a[1]), rand(-1, 1, c[0]), rand(1, 2, c[1]));
        }
        gradCheck("maximum", a -> a[0].maximum(a[1]), t(new float[] {1, 5, 3}, 3), t(new float[] {2, 4, 6}, 3));
    }

    @Test
    void matmulGradients() {
        gradCheck("matmul 2d", a -> a[0].matmul(a[1]), rand(-1, 1, 3, 5), rand(-1, 1, 5, 4));
        gradCheck("matmul transposed", a -> a[0].matmul(a[1].t()), rand(-1, 1, 3, 5), rand(-1, 1, 4, 5));
        gradCheck("matmul batched", a -> a[0].matmul(a[1]), rand(-1, 1, 2, 3, 4), rand(-1, 1, 2, 4, 2));
        gradCheck("matmul broadcast batch", a -> a[0].matmul(a[1]), rand(-1, 1, 2, 3, 4), rand(-1, 1, 4, 2));
        gradCheck("matmul vector", a -> a[0].matmul(a[1]), rand(-1, 1, 3, 4), rand(-1, 1, 4));
        gradCheck("matmul batch 1", a -> a[0].matmul(a[1]), rand(-1, 1, 1, 7), rand(-1, 1, 7, 1));
    }

    @Test
    void reductionAndViewGradients() {
        gradCheck("sum all", a -> a[0].sum(), rand(-1, 1, 3, 4));
        gradCheck("sum axis 0", a -> a[0].sum(0, false), rand(-1, 1, 3, 4, 2));
        gradCheck("sum axis 1 keep", a -> a[0].sum(1, true), rand(-1, 1, 3, 4, 2));
        gradCheck("mean axis -1", a -> a[0].mean(-1, false), rand(-1, 1, 3, 5));
        gradCheck("max axis 1", a -> a[0].max(1, false), t(new float[] {1, 7, 3, 9, 2, 4}, 2, 3));
        gradCheck("reshape", a -> a[0].reshape(6, 2).mul(a[0].reshape(6, 2)), rand(-1, 1, 3, 4));
        gradCheck("transpose", a -> a[0].transpose(0, 2).contiguous(), rand(-1, 1, 2, 3, 4));
        gradCheck("narrow", a -> a[0].narrow(1, 1, 2), rand(-1, 1, 3, 4));
        gradCheck("slice", a -> a[0].slice(1, 3).exp(), rand(-1, 1, 4, 2));
        gradCheck("cat", a -> Tensor.cat(List.of(a[0], a[1]), 1), rand(-1, 1, 2, 3), rand(-1, 1, 2, 2));
        gradCheck("broadcastTo", a -> a[0].broadcastTo(Shape.of(4, 3)), rand(-1, 1, 1, 3));
    }

    @Test
    void softmaxAndLossGradients() {
        gradCheck("logSoftmax", a -> a[0].logSoftmax(-1), rand(-2, 2, 3, 5));
        gradCheck("softmax", a -> a[0].softmax(-1), rand(-2, 2, 3, 5));
        gradCheck("logSoftmax axis 0", a -> a[0].logSoftmax(0), rand(-2, 2, 4, 3));
        Tensor labels = Tensor.ofInts(backend(), new int[] {2, 0, 4}, 3);
        gradCheck("crossEntropy labels", a -> a[0].crossEntropy(labels), rand(-2, 2, 3, 5));
        Tensor soft = t(new float[] {0.2f, 0.8f, 0, 0.5f, 0.5f, 0}, 2, 3);
        gradCheck("crossEntropy soft targets", a -> a[0].crossEntropy(soft), rand(-2, 2, 2, 3));
    }

    @Test
    void denseLayerGradients() {
        Dense d = new Dense(backend(), 5, 3, true, Init.PYTORCH, new Rng(3));
        Tensor x = rand(-1, 1, 4, 5).requiresGrad(true);
        Tensor w = t(random(12, -1, 1), 4, 3);
        d.forward(x).mul(w).sum().backward();
        float[] dWeight = d.weight().grad().toFloatArray();
        float[] dBias = d.bias().grad().toFloatArray();
        // reference: dW = w^T x, db = sum_rows(w)
        float[] xv = x.toFloatArray();
        float[] wv = w.toFloatArray();
        float[] expW = new float[15];
        float[] expB = new float[3];
        for (int n = 0; n < 4; n++) {
            for (int o = 0; o < 3; o++) {
                expB[o] += wv[n * 3 + o];
                for (int i = 0; i < 5; i++) {
                    expW[o * 5 + i] += wv[n * 3 + o] * xv[n * 5 + i];
                }
            }
        }
        assertClose(expW, dWeight, 1e-5, "dWeight");
        assertClose(expB, dBias, 1e-5, "dBias");
        gradCheck("dense input", a -> d.forward(a[0]), rand(-1, 1, 2, 5));
        d.close();
    }

    // ------------------------------------------------------------------ convolution, pooling, normalisation

    /** Plain reference convolution in double precision. */
    static float[] refConv(float[] x, int[] xs, float[] w, int[] ws, float[] b, ConvParams p) {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3], k = ws[0], cg = ws[1], r = ws[2], s = ws[3];
        int g = p.groups(), kg = k / g;
        int oh = p.outH(h, r), ow = p.outW(wd, s);
        float[] out = new float[n * k * oh * ow];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < k; o++) {
                int grp = o / kg;
                for (int y = 0; y < oh; y++) {
                    for (int xq = 0; xq < ow; xq++) {
                        double acc = b == null ? 0 : b[o];
                        for (int ci = 0; ci < cg; ci++) {
                            int cin = grp * cg + ci;
                            for (int ry = 0; ry < r; ry++) {
                                int yy = y * p.strideH() - p.padH() + ry * p.dilationH();
                                for (int sx = 0; sx < s; sx++) {
                                    int xx = xq * p.strideW() - p.padW() + sx * p.dilationW();
                                    if (yy >= 0 && yy < h && xx >= 0 && xx < wd) {
                                        acc += (double) x[((i * c + cin) * h + yy) * wd + xx]
                                                * w[((o * cg + ci) * r + ry) * s + sx];
                                    }
                                }
                            }
                        }
                        out[((i * k + o) * oh + y) * ow + xq] = (float) acc;
                    }
                }
            }
        }
        return out;
    }

    static final int[][] CONV_CASES = {
        // N, C, H, W, K, R, S, stride, pad, dilation, groups
        {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1},
        {1, 1, 5, 5, 2, 3, 3, 2, 0, 1, 1},
        {3, 2, 8, 8, 3, 2, 2, 2, 1, 1, 1},
        {2, 4, 9, 7, 6, 3, 3, 1, 2, 2, 2},
        {1, 3, 4, 5, 5, 1, 1, 1, 0, 1, 1},
        {4, 16, 14, 14, 8, 3, 3, 1, 1, 1, 1},
    };

    @Test
    void conv2dMatchesReferenceAndFiniteDifferences() {
        for (int[] cs : CONV_CASES) {
            ConvParams p = new ConvParams(cs[7], cs[7], cs[8], cs[8], cs[9], cs[9], cs[10]);
            int[] xs = {cs[0], cs[1], cs[2], cs[3]};
            int[] ws = {cs[4], cs[1] / cs[10], cs[5], cs[6]};
            Tensor x = rand(-1, 1, xs);
            Tensor w = rand(-1, 1, ws);
            Tensor b = rand(-1, 1, cs[4]);
            String what = "conv2d " + Arrays.toString(cs);
            assertClose(
                    refConv(x.toFloatArray(), xs, w.toFloatArray(), ws, b.toFloatArray(), p),
                    Functional.conv2d(x, w, b, p).toFloatArray(),
                    1e-4,
                    what);
            assertClose(
                    refConv(x.toFloatArray(), xs, w.toFloatArray(), ws, null, p),
                    Functional.conv2d(x, w, null, p).toFloatArray(),
                    1e-4,
                    what + " without bias");
            if (cs[1] <= 4) {
                gradCheck(what, a -> Functional.conv2d(a[0], a[1], a[2], p), x, w, b);
            }
            checkConv2dRelu(what, x, w, b, p);
            checkConv2dReluMaxPool2d(what, x, w, b, p);
        }
        // Ties: a zero weight makes every window of a channel equal to its bias, negative in some channels.
        ConvParams p = new ConvParams(1, 1, 1, 1, 1, 1, 1);
        Tensor zeroW = Tensor.zeros(backend(), 4, 2, 3, 3);
        Tensor bias = Tensor.of(backend(), new float[] {-1f, 0f, 0.5f, 2f});
        checkConv2dReluMaxPool2d("conv2d with ties", rand(-1, 1, 2, 2, 7, 6), zeroW, bias, p);
    }

    /**
     * The fused {@code conv2dReluMaxPool2d} against {@code maxPool2d(relu(conv2d))}: values and the gradients of
     * input, weight and bias, for a 2x2 window and for a padded, overlapping 3x3 one.
     */
    private void checkConv2dReluMaxPool2d(String what, Tensor x, Tensor w, Tensor b, ConvParams p) {
        Shape conv = Functional.conv2d(x, w, b, p).shape();
        for (PoolParams pp : new PoolParams[] {new PoolParams(2, 2, 2, 2, 0, 0), new PoolParams(3, 3, 2, 2, 1, 1)}) {
            if (pp.outH(conv.dim(2)) < 1 || pp.outW(conv.dim(3)) < 1) {
                continue;
            }
            String c = what + " + ReLU + max pool " + pp;
            Tensor want = Functional.maxPool2d(Functional.conv2d(x, w, b, p).relu(), pp);
            Tensor got = Functional.conv2dReluMaxPool2d(x, w, b, p, pp);
            assertEquals(want.shape(), got.shape(), c);
            assertClose(want.toFloatArray(), got.toFloatArray(), 1e-4, c);
            Tensor dOut = rand(-1, 1, want.shape().dims());
            float[][] fused = grads(a -> Functional.conv2dReluMaxPool2d(a[0], a[1], a[2], p, pp), dOut, x, w, b);
            float[][] plain = grads(
                    a -> Functional.maxPool2d(
                            Functional.conv2d(a[0], a[1], a[2], p).relu(), pp),
                    dOut,
                    x,
                    w,
                    b);
            String[] names = {"dx", "dWeight", "dBias"};
            for (int i = 0; i < 3; i++) {
                assertClose(plain[i], fused[i], 1e-4, c + ", " + names[i]);
            }
        }
    }

    @Test
    void backwardReleasesEachGradientOnceUsed() {
        int n = 64 * 1024;
        try (Scope s = Scope.open()) {
            Tensor x = rand(-1, 1, n).requiresGrad(true);
            Tensor h = x;
            for (int i = 0; i < 16; i++) {
                h = h.mul(1.01f); // each backward step makes one gradient of n floats
            }
            Tensor loss = h.sum();
            long before = backend().memory().liveBytes();
            loss.backward();
            long grown = backend().memory().liveBytes() - before;
            // x's gradient and the last one handed over; all 16 would be 16 * n floats
            assertTrue(grown <= 3L * n * Float.BYTES, "bytes still live after backward: " + grown);
            assertClose(
                    Tensor.full(backend(), (float) Math.pow(1.01, 16), n).toFloatArray(),
                    x.grad().toFloatArray(),
                    1e-5,
                    "gradient through 16 scalings");
        }
    }

    /** The fused {@code conv2dRelu} against {@code relu} of the reference, and its gradients against the two ops'. */
    private void checkConv2dRelu(String what, Tensor x, Tensor w, Tensor b, ConvParams p) {
        float[] ref = refConv(
                x.toFloatArray(), x.shape().dims(), w.toFloatArray(), w.shape().dims(), b.toFloatArray(), p);
        int negatives = 0;
        for (int i = 0; i < ref.length; i++) {
            negatives += ref[i] < 0 ? 1 : 0;
            ref[i] = Math.max(ref[i], 0f);
        }
        assertTrue(negatives > 0, what + ": the case should have negative pre-activations");
        assertClose(ref, Functional.conv2dRelu(x, w, b, p).toFloatArray(), 1e-4, what + " fused with ReLU");
        Tensor dOut = rand(-1, 1, Functional.conv2d(x, w, b, p).shape().dims());
        float[][] fused = grads(a -> Functional.conv2dRelu(a[0], a[1], a[2], p), dOut, x, w, b);
        float[][] plain = grads(a -> Functional.conv2d(a[0], a[1], a[2], p).relu(), dOut, x, w, b);
        String[] names = {"dx", "dWeight", "dBias"};
        for (int i = 0; i < 3; i++) {
            assertClose(plain[i], fused[i], 1e-4, what + " fused with ReLU, " + names[i]);
        }
    }

    /** Gradients of {@code f} with respect to each input, for a fixed upstream gradient {@code dOut}. */
    private static float[][] grads(Function<Tensor[], Tensor> f, Tensor dOut, Tensor... inputs) {
        Tensor[] leaves = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            leaves[i] = inputs[i].detach().requiresGrad(true);
        }
        f.apply(leaves).mul(dOut).sum().backward();
        float[][] g = new float[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            g[i] = leaves[i].grad().toFloatArray();
        }
        return g;
    }

    /** The model's output and the gradients of its input and parameters, run by {@code forward}. */
    private static float[][] outputAndGrads(Sequential model, Function<Tensor, Tensor> forward, Tensor x, Tensor dOut) {
        Tensor leaf = x.detach().requiresGrad(true);
        for (Parameter p : model.parameters()) {
            p.zeroGrad();
        }
        Tensor y = forward.apply(leaf);
        y.mul(dOut).sum().backward();
        List<float[]> r = new ArrayList<>(List.of(y.toFloatArray(), leaf.grad().toFloatArray()));
        for (Parameter p : model.parameters()) {
            r.add(p.grad().toFloatArray());
        }
        return r.toArray(new float[0][]);
    }

    @Test
    void sequentialRewritesGiveTheLayerByLayerValuesAndGradients() {
        Rng rng = new Rng(3);
        // Conv2d-ReLU-MaxPool2d (pooled before ReLU) and Conv2d-ReLU (fused), on odd sizes (floor-mode pooling).
        Sequential model = new Sequential(
                new Conv2d(backend(), Conv2d.Config.of(3, 16, 3).withPadding(1), rng),
                new ReLU(),
                new MaxPool2d(2),
                new Conv2d(backend(), Conv2d.Config.of(16, 8, 3), rng),
                new ReLU(),
                new Flatten());
        Tensor x = rand(-1, 1, 3, 3, 11, 9);
        Function<Tensor, Tensor> layerByLayer = in -> {
            Tensor h = in;
            for (var m : model.layers()) {
                h = m.forward(h);
            }
            return h;
        };
        Tensor dOut = rand(-1, 1, model.outputShape(x.shape()).dims());
        float[][] want = outputAndGrads(model, layerByLayer, x, dOut);
        float[][] got = outputAndGrads(model, model::forward, x, dOut);
        for (int i = 0; i < want.length; i++) {
            assertClose(
                    want[i], got[i], 1e-5, "Sequential vs layer by layer, " + (i == 0 ? "output" : "gradient " + i));
        }
        model.close();
        // Ties: whole windows <= 0 and repeated maxima, where a wrong argmax or mask would show.
        Sequential pool = new Sequential(new ReLU(), new MaxPool2d(2));
        float[] v = new float[2 * 3 * 6 * 6];
        for (int i = 0; i < v.length; i++) {
            v[i] = (i * 7 % 5) - 3; // -3..1
        }
        Tensor t = Tensor.of(backend(), v, 2, 3, 6, 6);
        Tensor dPool = rand(-1, 1, 2, 3, 3, 3);
        Function<Tensor, Tensor> plain = in -> new MaxPool2d(2).forward(new ReLU().forward(in));
        float[][] w2 = outputAndGrads(pool, plain, t, dPool);
        float[][] g2 = outputAndGrads(pool, pool::forward, t, dPool);
        assertClose(w2[0], g2[0], 0, "ReLU-MaxPool2d with ties, output");
        assertClose(w2[1], g2[1], 0, "ReLU-MaxPool2d with ties, gradient");
    }

    @Test
    void conv2dRejectsMismatchedChannels() {
        ConvParams p = new ConvParams(1, 1, 0, 0, 1, 1, 1);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Functional.conv2d(rand(0, 1, 2, 3, 5, 5), rand(0, 1, 4, 2, 3, 3), null, p));
        assertTrue(
                e.getMessage().contains("conv2d")
                        && e.getMessage().contains("[2, 3, 5, 5]")
                        && e.getMessage().contains("[4, 2, 3, 3]"),
                e.getMessage());
        IllegalArgumentException small = assertThrows(
                IllegalArgumentException.class,
                () -> Functional.conv2d(rand(0, 1, 1, 1, 2, 2), rand(0, 1, 1, 1, 3, 3), null, p));
        assertTrue(small.getMessage().contains("too small"), small.getMessage());
    }

    static float[] refPool(boolean max, float[] x, int[] xs, PoolParams p) {
        int oh = p.outH(xs[2]);
        int ow = p.outW(xs[3]);
        float[] out = new float[xs[0] * xs[1] * oh * ow];
        for (int pl = 0; pl < xs[0] * xs[1]; pl++) {
            for (int y = 0; y < oh; y++) {
                for (int xq = 0; xq < ow; xq++) {
                    double best = Double.NEGATIVE_INFINITY;
                    double sum = 0;
                    for (int r = 0; r < p.kernelH(); r++) {
                        for (int s = 0; s < p.kernelW(); s++) {
                            int yy = y * p.strideH() - p.padH() + r;
                            int xx = xq * p.strideW() - p.padW() + s;
                            if (yy >= 0 && yy < xs[2] && xx >= 0 && xx < xs[3]) {
                                double v = x[(pl * xs[2] + yy) * xs[3] + xx];
                                best = Math.max(best, v);
                                sum += v;
                            }
                        }
                    }
                    out[(pl * oh + y) * ow + xq] = (float) (max ? best : sum / (p.kernelH() * p.kernelW()));
                }
            }
        }
        return out;
    }

    @Test
    void poolingMatchesReferenceAndFiniteDifferences() {
        int[][] cases = {{2, 3, 7, 7, 2, 2, 0}, {1, 2, 6, 5, 3, 2, 1}, {2, 1, 4, 4, 2, 1, 0}, {1, 1, 28, 28, 2, 2, 0}};
        for (int[] cs : cases) {
            PoolParams p = new PoolParams(cs[4], cs[4], cs[5], cs[5], cs[6], cs[6]);
            int[] xs = {cs[0], cs[1], cs[2], cs[3]};
            // distinct values so the maximum is unique and finite differences are valid
            float[] v = new float[Shape.of(xs).numel()];
            int[] perm = rng.permutation(v.length);
            for (int i = 0; i < v.length; i++) {
                v[i] = perm[i] * 0.1f - v.length * 0.05f;
            }
            Tensor x = t(v, xs);
            assertClose(
                    refPool(true, v, xs, p),
                    Functional.maxPool2d(x, p).toFloatArray(),
                    0,
                    "maxPool " + Arrays.toString(cs));
            assertClose(
                    refPool(false, v, xs, p),
                    Functional.avgPool2d(x, p).toFloatArray(),
                    1e-5,
                    "avgPool " + Arrays.toString(cs));
            if (v.length < 300) {
                gradCheck("maxPool " + Arrays.toString(cs), a -> Functional.maxPool2d(a[0], p), 1e-3, t(v, xs));
                gradCheck("avgPool " + Arrays.toString(cs), a -> Functional.avgPool2d(a[0], p), t(v, xs));
            }
        }
        assertEquals(
                Shape.of(1, 1, 3, 3),
                Functional.maxPool2d(rand(0, 1, 1, 1, 7, 7), new PoolParams(2, 2, 2, 2, 0, 0))
                        .shape(),
                "floor mode: 7x7 -> 3x3");
    }

    /** Mean and biased variance of channel {@code ch} of NC(HW) data, in double, two passes. */
    static double[] refMoments(float[] xv, int n, int c, int hw, int ch) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < hw; j++) {
                sum += xv[(i * c + ch) * hw + j];
            }
        }
        double mean = sum / ((double) n * hw);
        double var = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < hw; j++) {
                double d = xv[(i * c + ch) * hw + j] - mean;
                var += d * d;
            }
        }
        return new double[] {mean, var / ((double) n * hw)};
    }

    @Test
    void batchNormTrainingMatchesReferenceAndUpdatesRunningStats() {
        for (int[] xs : new int[][] {{4, 3, 5, 5}, {6, 4}, {1, 2, 3, 3}, {5, 3, 1, 1}}) {
            Tensor x = rand(-2, 3, xs);
            int c = xs[1];
            Tensor gamma = rand(0.5f, 1.5f, c);
            Tensor beta = rand(-1, 1, c);
            Tensor rm = Tensor.full(backend(), 0f, c);
            Tensor rv = Tensor.full(backend(), 1f, c);
            Tensor y = Functional.batchNorm(x, gamma, beta, rm, rv, true, 0.1f, 1e-5f);
            float[] xv = x.toFloatArray();
            int n = xs[0];
            int hw = xv.length / (n * c);
            float[] expected = new float[xv.length];
            float[] gv = gamma.toFloatArray();
            float[] bv = beta.toFloatArray();
            float[] expRm = new float[c];
            float[] expRv = new float[c];
            for (int ch = 0; ch < c; ch++) {
                double m = (double) n * hw;
                double[] mv = refMoments(xv, n, c, hw, ch);
                double mean = mv[0];
                double var = mv[1];
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < hw; j++) {
                        int at = (i * c + ch) * hw + j;
                        expected[at] = (float) ((xv[at] - mean) / Math.sqrt(var + 1e-5) * gv[ch] + bv[ch]);
                    }
                }
                expRm[ch] = (float) (0.1 * mean);
                expRv[ch] = (float) (0.9 + 0.1 * var * m / (m - 1));
            }
            String what = "batchNorm " + Arrays.toString(xs);
            assertClose(expected, y.toFloatArray(), 1e-4, what);
            assertClose(expRm, rm.toFloatArray(), 1e-5, what + " running mean");
            assertClose(expRv, rv.toFloatArray(), 1e-5, what + " running var");
            gradCheck(
                    what,
                    a -> Functional.batchNorm(a[0], a[1], a[2], null, null, true, 0.1f, 1e-5f),
                    t(x.toFloatArray(), xs),
                    gamma,
                    beta);
            // evaluation mode uses the running statistics and is differentiable too
            float[] ev = Functional.batchNorm(x, gamma, beta, rm, rv, false, 0.1f, 1e-5f)
                    .toFloatArray();
            float[] rmv = rm.toFloatArray();
            float[] rvv = rv.toFloatArray();
            float[] expEval = new float[xv.length];
            for (int i = 0; i < xv.length; i++) {
                int ch = (i / hw) % c;
                expEval[i] = (float) ((xv[i] - rmv[ch]) / Math.sqrt(rvv[ch] + 1e-5) * gv[ch] + bv[ch]);
            }
            assertClose(expEval, ev, 1e-5, what + " eval");
            gradCheck(
                    what + " eval",
                    a -> Functional.batchNorm(a[0], a[1], a[2], rm, rv, false, 0.1f, 1e-5f),
                    t(x.toFloatArray(), xs),
                    t(gamma.toFloatArray(), c),
                    t(beta.toFloatArray(), c));
        }
        assertThrows(
                IllegalArgumentException.class,
                () -> Functional.batchNorm(rand(0, 1, 1, 3), null, null, null, null, true, 0.1f, 1e-5f));
    }

    /**
     * Batch norm on larger shapes than the finite-difference test affords (more images than a backend sums in one
     * float block, channels split over threads, planes of 1, 9 and 400), against a double-precision reference of
     * the forward pass and of the gradients for a fixed {@code dOut}.
     */
    @Test
    void batchNormLargeShapesMatchDoubleReference() {
        for (int[] xs : new int[][] {{130, 37}, {70, 300}, {67, 5, 3, 3}, {3, 24, 20, 20}}) {
            String what = "batchNorm " + Arrays.toString(xs);
            int n = xs[0];
            int c = xs[1];
            Tensor x = rand(3, 6, xs); // off-centre, as activations are
            Tensor gamma = rand(0.5f, 1.5f, c);
            Tensor beta = rand(-1, 1, c);
            Tensor dOut = rand(-1, 1, xs);
            float[][] g = grads(
                    a -> Functional.batchNorm(a[0], a[1], a[2], null, null, true, 0.1f, 1e-5f), dOut, x, gamma, beta);
            float[] y = Functional.batchNorm(x, gamma, beta, null, null, true, 0.1f, 1e-5f)
                    .toFloatArray();
            float[] xv = x.toFloatArray();
            float[] dv = dOut.toFloatArray();
            float[] gv = gamma.toFloatArray();
            float[] bv = beta.toFloatArray();
            int hw = xv.length / (n * c);
            double m = (double) n * hw;
            float[] expY = new float[xv.length];
            float[] expDx = new float[xv.length];
            float[] expDGamma = new float[c];
            float[] expDBeta = new float[c];
            for (int ch = 0; ch < c; ch++) {
                double[] mv = refMoments(xv, n, c, hw, ch);
                double mean = mv[0];
                double inv = 1 / Math.sqrt(mv[1] + 1e-5);
                double sumD = 0;
                double sumDXhat = 0;
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < hw; j++) {
                        int at = (i * c + ch) * hw + j;
                        double xhat = (xv[at] - mean) * inv;
                        expY[at] = (float) (xhat * gv[ch] + bv[ch]);
                        sumD += dv[at];
                        sumDXhat += dv[at] * xhat;
                    }
                }
                expDGamma[ch] = (float) sumDXhat;
                expDBeta[ch] = (float) sumD;
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < hw; j++) {
                        int at = (i * c + ch) * hw + j;
                        double xhat = (xv[at] - mean) * inv;
                        expDx[at] = (float) (gv[ch] * inv * (dv[at] - sumD / m - xhat * sumDXhat / m));
                    }
                }
            }
            assertClose(expY, y, 1e-4, what);
            assertClose(expDx, g[0], 1e-3, what + " dx");
            assertClose(expDGamma, g[1], 1e-3, what + " dGamma");
            assertClose(expDBeta, g[2], 1e-3, what + " dBeta");
        }
    }

    @Test
    void dropoutScalesKeptValuesAndIsIdentityInEval() {
        Tensor x = Tensor.full(backend(), 2f, 100, 100);
        float[] y = Functional.dropout(x, 0.25f, true, new Rng(9)).toFloatArray();
        int zeros = 0;
        for (float v : y) {
            if (v == 0f) {
                zeros++;
            } else {
                assertEquals(2f / 0.75f, v, 1e-6);
            }
        }
        assertEquals(0.25, zeros / 10000.0, 0.02);
        assertArrayEquals(y, Functional.dropout(x, 0.25f, true, new Rng(9)).toFloatArray(), "seeded");
        assertTrue(Functional.dropout(x, 0.25f, false, new Rng(9)) == x);
        Tensor in = rand(-1, 1, 3, 4);
        gradCheck("dropout", a -> Functional.dropout(a[0], 0.5f, true, new Rng(4)), in);
    }

    @Test
    void cnnLayersComposeAndSwitchModes() {
        Sequential model = new Sequential(
                new Conv2d(backend(), Conv2d.Config.of(1, 4, 3).withPadding(1), new Rng(1)),
                new ReLU(),
                new BatchNorm2d(backend(), BatchNorm.Config.of(4)),
                new MaxPool2d(2),
                new Flatten(),
                new Dropout(0.5f, new Rng(2)),
                new Dense(backend(), 4 * 3 * 3, 5, true, Init.PYTORCH, new Rng(3)));
        Tensor x = rand(0, 1, 2, 1, 7, 7);
        assertEquals(Shape.of(2, 5), model.outputShape(x.shape()));
        Tensor y = model.forward(x);
        assertEquals(Shape.of(2, 5), y.shape());
        y.sum().backward();
        for (var e : model.namedParameters().entrySet()) {
            assertNotNull(e.getValue().grad(), e.getKey() + " has a gradient");
        }
        assertEquals(
                List.of("0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"),
                List.copyOf(model.namedParameters().keySet()));
        assertEquals(
                List.of("2.running_mean", "2.running_var", "2.num_batches_tracked"),
                List.copyOf(model.namedBuffers().keySet()));
        // a training step of a CNN in steady state allocates no native memory either
        Adam opt = new Adam(model.parameters(), Adam.Config.lr(0.01f));
        Tensor labels = Tensor.ofInts(backend(), new int[] {1, 3}, 2);
        long allocs = 0;
        for (int step = 0; step < 6; step++) {
            try (Scope s = Scope.open()) {
                opt.zeroGrad();
                model.forward(x).crossEntropy(labels).backward();
                opt.step();
            }
            if (step == 2) {
                allocs = backend().memory().allocations();
            }
        }
        assertEquals(allocs, backend().memory().allocations(), "native allocations of a CNN step after warm-up");
        opt.close();
        model.eval();
        float[] a = model.forward(x).toFloatArray();
        float[] b = model.forward(x).toFloatArray();
        assertArrayEquals(a, b, "eval mode is deterministic (no dropout, running statistics)");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> model.forward(rand(0, 1, 2, 3, 7, 7)));
        assertTrue(e.getMessage().contains("layer 0") && e.getMessage().contains("[2, 3, 7, 7]"), e.getMessage());
        model.close();
    }

    // ------------------------------------------------------------------ model files

    /**
     * The same model and metadata give the same file bytes whatever order the caller's metadata map iterates in
     * (a {@code Map.of} iterates in a different order in each JVM, which made two saves of one model differ).
     */
    @Test
    void aSavedFileDoesNotDependOnTheMetadataMapsOrder(@TempDir Path dir) throws IOException {
        Dense m = new Dense(backend(), 3, 2, true, Init.PYTORCH, new Rng(3));
        Map<String, String> ab = new LinkedHashMap<>();
        ab.put("gradus.example", "mlp");
        ab.put("gradus.hidden", "48");
        Map<String, String> ba = new LinkedHashMap<>();
        ba.put("gradus.hidden", "48");
        ba.put("gradus.example", "mlp");
        dev.gradus.io.Safetensors.save(m, dir.resolve("ab.safetensors"), ab);
        dev.gradus.io.Safetensors.save(m, dir.resolve("ba.safetensors"), ba);
        assertArrayEquals(
                Files.readAllBytes(dir.resolve("ab.safetensors")), Files.readAllBytes(dir.resolve("ba.safetensors")));
        m.close();
    }

    @Test
    void safetensorsRoundTripPredictsExactlyTheSame(@TempDir Path dir) throws IOException {
        Sequential a = new Sequential(
                new Dense(backend(), 6, 5, true, Init.PYTORCH, new Rng(1)),
                new ReLU(),
                new BatchNorm1d(backend(), BatchNorm.Config.of(5)),
                new Dense(backend(), 5, 3, true, Init.PYTORCH, new Rng(2)));
        Tensor x = rand(-1, 1, 4, 6);
        a.forward(x); // training mode: moves the running statistics away from 0/1
        a.eval();
        float[] before = a.forward(x).toFloatArray();
        Path file = dir.resolve("model.safetensors");
        dev.gradus.io.Safetensors.save(a, file);
        Sequential b = new Sequential(
                new Dense(backend(), 6, 5, true, Init.PYTORCH, new Rng(7)),
                new ReLU(),
                new BatchNorm1d(backend(), BatchNorm.Config.of(5)),
                new Dense(backend(), 5, 3, true, Init.PYTORCH, new Rng(8)));
        b.eval();
        dev.gradus.io.Safetensors.load(b, file);
        assertArrayEquals(before, b.forward(x).toFloatArray(), "identical predictions after loading");
        var contents = dev.gradus.io.Safetensors.read(file);
        assertEquals(
                List.of(
                        "0.weight",
                        "0.bias",
                        "2.weight",
                        "2.bias",
                        "3.weight",
                        "3.bias",
                        "2.running_mean",
                        "2.running_var",
                        "2.num_batches_tracked"),
                List.copyOf(contents.tensors().keySet()));
        assertEquals("pt", contents.metadata().get("format"));
        assertTrue(contents.metadata().get("gradus.architecture").contains("0:Dense(6 -> 5)"));
        // the header is the documented JSON: little-endian length, then {"__metadata__":..., "0.weight":{...}}
        byte[] bytes = Files.readAllBytes(file);
        long headerLen =
                ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
        assertTrue(
                header.contains("\"0.weight\":{\"dtype\":\"F32\",\"shape\":[5,6],\"data_offsets\":[0,120]}"), header);
        // a different architecture fails and names every difference
        Sequential other = new Sequential(
                new Dense(backend(), 6, 4, true, Init.PYTORCH, new Rng(1)),
                new ReLU(),
                new Dense(backend(), 4, 3, true, Init.PYTORCH, new Rng(2)));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> dev.gradus.io.Safetensors.load(other, file));
        assertTrue(
                e.getMessage().contains("'0.weight' has shape [5, 6] in the file, [4, 6] in the model")
                        && e.getMessage().contains("unexpected '3.weight'")
                        && e.getMessage().contains("'2.weight' has shape [5] in the file, [3, 4] in the model")
                        && e.getMessage().contains("file architecture"),
                e.getMessage());
        a.close();
        b.close();
        other.close();
    }

    @Test
    void corruptModelFilesAreNamed(@TempDir Path dir) throws IOException {
        Sequential m = new Sequential(new Dense(backend(), 3, 2, true, Init.PYTORCH, new Rng(1)));
        Path good = dir.resolve("good.safetensors");
        dev.gradus.io.Safetensors.save(m, good);
        byte[] bytes = Files.readAllBytes(good);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 5));
        var e1 = assertThrows(dev.gradus.io.ModelFormatException.class, () -> dev.gradus.io.Safetensors.read(cut));
        assertTrue(
                e1.getMessage().contains("cut.safetensors") && e1.getMessage().contains("truncated"), e1.getMessage());
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertThrows(dev.gradus.io.ModelFormatException.class, () -> dev.gradus.io.Safetensors.read(tiny));
        Path png = dir.resolve("not-a-model.safetensors");
        Files.write(png, new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 0});
        var e2 = assertThrows(dev.gradus.io.ModelFormatException.class, () -> dev.gradus.io.Safetensors.read(png));
        assertTrue(e2.getMessage().contains("not a safetensors file"), e2.getMessage());
        String header = new String(bytes, 8, bytes.length - 8, StandardCharsets.ISO_8859_1);
        Path sizes = dir.resolve("sizes.safetensors");
        byte[] wrong = bytes.clone();
        int at = header.indexOf("[2,3]");
        wrong[8 + at + 1] = '9'; // shape [9,3] no longer matches its 24 bytes
        Files.write(sizes, wrong);
        var e3 = assertThrows(dev.gradus.io.ModelFormatException.class, () -> dev.gradus.io.Safetensors.read(sizes));
        assertTrue(e3.getMessage().contains("'0.weight'") && e3.getMessage().contains("[9, 3]"), e3.getMessage());
        // a save that fails half-way leaves the previous file untouched
        Sequential broken = new Sequential(new Dense(backend(), 3, 2, true, Init.PYTORCH, new Rng(5)));
        broken.namedParameters().get("0.bias").close();
        assertThrows(IllegalStateException.class, () -> dev.gradus.io.Safetensors.save(broken, good));
        assertArrayEquals(bytes, Files.readAllBytes(good), "the earlier good file is intact");
        broken.namedParameters().get("0.weight").close();
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".tmp")), "no temporary files left");
        }
        m.close();
    }

    @Test
    void trimGivesCachedMemoryBackAndKeepsLiveTensors() {
        Tensor kept = rand(-1, 1, 17, 3);
        float[] values = kept.toFloatArray();
        try (Scope s = Scope.open()) {
            rand(-1, 1, 129, 7).mul(2f).sum().item();
        }
        assertTrue(backend().memory().reservedBytes() >= 129 * 7 * 4, "freed storages are cached");
        long live = backend().memory().liveBytes();
        backend().trim();
        assertEquals(0, backend().memory().reservedBytes(), "reserved after trim");
        assertEquals(live, backend().memory().liveBytes(), "live after trim");
        assertArrayEquals(values, kept.toFloatArray(), "a live tensor survives trim");
    }

    // ------------------------------------------------------------------ anomaly mode

    @Test
    void anomalyModeNamesTheOpThatMadeTheFirstNaN() {
        Tensor x = t(new float[] {1, -2, 3}, 3).requiresGrad(true);
        assertTrue(Float.isNaN(x.log().toFloatArray()[1]), "off by default: NaN flows on silently");
        try (Anomaly a = Anomaly.detect()) {
            Tensor y = x.mul(2f);
            var e = assertThrows(AnomalyException.class, () -> y.log());
            assertEquals("log", e.op());
            assertTrue(
                    e.getMessage().contains("'log' produced NaN (first at flat index 1) in its output [3]")
                            && e.getMessage().contains("were all finite"),
                    e.getMessage());
        }
        assertTrue(Float.isNaN(x.mul(2f).log().toFloatArray()[1]), "off again once the guard closed");
    }

    @Test
    void anomalyModeNamesTheLayerAndBlamesNonFiniteData() {
        try (Sequential m = new Sequential(
                        new Dense(backend(), 3, 2, true, Init.PYTORCH, new Rng(3)),
                        new ReLU(),
                        new Dense(backend(), 2, 2, true, Init.PYTORCH, new Rng(4)));
                Anomaly a = Anomaly.detect()) {
            fill(m.namedParameters().get("0.weight"), 1f); // layer 0 gives 3 and 6, finite
            fill(m.namedParameters().get("2.weight"), 3e38f); // layer 2 overflows
            Tensor x = t(new float[] {1, 1, 1, 2, 2, 2}, 2, 3);
            var e = assertThrows(AnomalyException.class, () -> m.forward(x));
            assertTrue(e.layer().startsWith("layer 2 (Dense"), e.getMessage());
            assertTrue(
                    e.getMessage().contains("Infinity") && e.getMessage().contains("in layer 2 (Dense"),
                    e.getMessage());
            Tensor bad = t(new float[] {1, Float.NaN, 1, 2, 2, 2}, 2, 3);
            var e2 = assertThrows(AnomalyException.class, () -> m.forward(bad));
            assertTrue(
                    e2.getMessage().contains("layer 0 (Dense")
                            && e2.getMessage()
                                    .contains("input 0 [2, 3]"
                                            + " already held NaN (first at flat index 1): it is data or a parameter"),
                    e2.getMessage());
        }
    }

    private static void fill(Tensor w, float v) {
        float[] values = new float[w.numel()];
        Arrays.fill(values, v);
        w.backend().write(w.operand().storage(), w.layout().offset(), values, 0, values.length);
    }

    @Test
    void anomalyModeChecksGradientsInBackward() {
        Tensor x = t(new float[] {4, 0, 9}, 3).requiresGrad(true);
        try (Anomaly a = Anomaly.detect()) {
            Tensor loss = x.sqrt().sum();
            assertEquals(5f, loss.item(), 0f, "forward is finite");
            var e = assertThrows(AnomalyException.class, loss::backward);
            assertEquals("sqrt", e.op());
            assertTrue(
                    e.getMessage()
                                    .startsWith("anomaly in backward: the gradient 'sqrt' gave its input 0 [3]"
                                            + " holds +Infinity (first at flat index 1)")
                            && e.getMessage().contains("incoming gradient [3]" + " was finite"),
                    e.getMessage());
        }
    }

    // ------------------------------------------------------------------ autodiff semantics

    @Test
    void gradientsAccumulateUntilZeroed() {
        Tensor x = t(new float[] {1, 2, 3}, 3).requiresGrad(true);
        x.mul(x).sum().backward();
        x.mul(x).sum().backward();
        assertArrayEquals(new float[] {4, 8, 12}, x.grad().toFloatArray());
        x.zeroGrad();
        assertArrayEquals(new float[] {0, 0, 0}, x.grad().toFloatArray());
        x.mul(3f).sum().backward();
        assertArrayEquals(new float[] {3, 3, 3}, x.grad().toFloatArray());
    }

    @Test
    void sharedSubexpressionsSumTheirGradients() {
        Tensor x = t(new float[] {2}, 1).requiresGrad(true);
        Tensor y = x.mul(x);
        y.add(y).mul(y).sum().backward(); // 2 x^4 -> 8 x^3
        assertEquals(64f, x.grad().item(), 1e-4);
    }

    @Test
    void backwardTwiceOnAFreedGraphFails() {
        Tensor x = t(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor loss = x.exp().sum();
        loss.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("already freed"), e.getMessage());
        Tensor kept = x.exp().sum();
        kept.backward(Tensor.full(backend(), 1f), true);
        kept.backward(Tensor.full(backend(), 1f), true);
    }

    @Test
    void nonScalarBackwardNeedsASeed() {
        Tensor x = t(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor y = x.mul(2f);
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("seed"), e.getMessage());
        y.backward(t(new float[] {1, 10}, 2));
        assertArrayEquals(new float[] {2, 20}, x.grad().toFloatArray());
    }

    @Test
    void noGradRecordsNothing() {
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
    void detachStopsGradients() {
        Tensor x = t(new float[] {3}, 1).requiresGrad(true);
        x.mul(x.detach()).sum().backward();
        assertEquals(3f, x.grad().item());
    }

    @Test
    void clipGradNormAndValueAsPytorch() {
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
    void customOpsThroughThePublicApiGetGradients() {
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
    void badCustomOpGradientShapeIsNamed() {
        Tensor x = rand(-1, 1, 2, 3).requiresGrad(true);
        Tensor out = Autograd.record(x.mul(2f), "wrongShape", d -> new Tensor[] {d.sum(0, false)}, x);
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> out.sum().backward());
        assertTrue(e.getMessage().contains("'wrongShape' gave a gradient [3] for an input [2, 3]"), e.getMessage());
    }

    @Test
    void fusedKernelsRejectOperandsThatAreNotDense() {
        Backend be = backend();
        Tensor p = Tensor.full(be, 1f, 8);
        Tensor g = Tensor.full(be, 1f, 8);
        Tensor m = Tensor.full(be, 0f, 8);
        Tensor v = Tensor.full(be, 0f, 8);
        Operand offset = p.narrow(0, 2, 4).operand();
        AdamStep h = new AdamStep(0.1f, 0.9f, 0.999f, 1e-8f, 0f, false, 1);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> be.adamStep(
                        offset,
                        g.narrow(0, 0, 4).operand(),
                        m.narrow(0, 0, 4).operand(),
                        v.narrow(0, 0, 4).operand(),
                        h));
        assertTrue(e.getMessage().startsWith("adamStep: needs dense operands"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> be.adamStep(p.operand(), g.narrow(0, 0, 4).operand(), m.operand(), v.operand(), h));
        assertTrue(e.getMessage().contains("8 and 4 elements"), e.getMessage());
        Tensor x = rand(-1, 1, 1, 1, 4, 4);
        Tensor w = rand(-1, 1, 1, 1, 3, 3);
        Tensor out = Tensor.empty(be, DType.FLOAT32, 1, 1, 4, 4);
        ConvParams cp = new ConvParams(1, 1, 1, 1, 1, 1, 1);
        e = assertThrows(
                IllegalArgumentException.class,
                () -> be.conv2d(x.transpose(2, 3).operand(), w.operand(), null, out.operand(), cp));
        assertTrue(e.getMessage().startsWith("conv2d: needs dense operands"), e.getMessage());
        be.adamStep(p.operand(), g.operand(), m.operand(), v.operand(), h);
        assertClose(
                new float[] {0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f},
                p.toFloatArray(),
                1e-5,
                "adamStep on dense operands");
    }

    // ------------------------------------------------------------------ memory

    @Test
    void scopeReleasesIntermediatesAndUseAfterReleaseFails() {
        long before = backend().memory().liveBytes();
        Tensor escaped;
        Tensor kept;
        try (Scope s = Scope.open()) {
            Tensor a = rand(0, 1, 100, 10);
            escaped = a.mul(2f).relu();
            kept = s.keep(a.sum());
        }
        assertTrue(escaped.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, escaped::toFloatArray);
        assertTrue(e.getMessage().contains("released"), e.getMessage());
        assertTrue(kept.item() > 0);
        kept.close();
        kept.close(); // idempotent
        assertEquals(before, backend().memory().liveBytes(), "live bytes after the scope closed");
        Scope s = Scope.open();
        s.close();
        assertThrows(IllegalStateException.class, s::close);
        Sequential m = new Sequential(new Dense(backend(), 3, 2, true, Init.PYTORCH, new Rng(1)));
        m.close();
        var twice = assertThrows(IllegalStateException.class, m::close);
        assertTrue(twice.getMessage().contains("already closed"), twice.getMessage());
        var used = assertThrows(IllegalStateException.class, () -> m.forward(t(new float[3], 1, 3)));
        assertTrue(used.getMessage().contains("released"), used.getMessage());
        Sequential m2 = new Sequential(new Dense(backend(), 3, 2, true, Init.PYTORCH, new Rng(1)));
        Adam opt = new Adam(m2.parameters(), Adam.Config.lr(0.1f));
        opt.close();
        var optTwice = assertThrows(IllegalStateException.class, opt::close);
        assertTrue(optTwice.getMessage().contains("Adam: optimizer already closed"), optTwice.getMessage());
        var stepAfter = assertThrows(IllegalStateException.class, opt::step);
        assertTrue(stepAfter.getMessage().contains("the optimizer was closed"), stepAfter.getMessage());
        m2.close();
    }

    @Test
    void steadyStateTrainingMakesNoNewAllocations() {
        Sequential model = new Sequential(
                new Dense(backend(), 20, 16, true, Init.PYTORCH, new Rng(1)),
                new ReLU(),
                new Dense(backend(), 16, 4, true, Init.PYTORCH, new Rng(2)));
        Adam opt = new Adam(model.parameters(), Adam.Config.lr(0.01f));
        Tensor x = rand(-1, 1, 8, 20);
        Tensor y = Tensor.ofInts(backend(), new int[] {0, 1, 2, 3, 0, 1, 2, 3}, 8);
        long allocsAfterWarmup = 0;
        long liveAfterWarmup = 0;
        float first = 0;
        float last = 0;
        for (int step = 0; step < 60; step++) {
            try (Scope s = Scope.open()) {
                opt.zeroGrad();
                Tensor loss = model.forward(x).crossEntropy(y);
                loss.backward();
                opt.step();
                last = loss.item();
                if (step == 0) {
                    first = last;
                }
            }
            if (step == 2) {
                allocsAfterWarmup = backend().memory().allocations();
                liveAfterWarmup = backend().memory().liveBytes();
            }
        }
        assertEquals(allocsAfterWarmup, backend().memory().allocations(), "native allocations after warm-up");
        assertEquals(liveAfterWarmup, backend().memory().liveBytes(), "live bytes after warm-up");
        assertTrue(last < first * 0.5f, "loss fell from " + first + " to " + last);
        opt.close();
        model.close();
        assertThrows(IllegalStateException.class, model::close);
    }

    private float[] trainTwoLayerNet(long seed) {
        Rng r = new Rng(seed);
        Sequential m = new Sequential(
                new Dense(backend(), 30, 64, true, Init.PYTORCH, r),
                new ReLU(),
                new Dropout(0.1f, r.split()),
                new Dense(backend(), 64, 5, true, Init.PYTORCH, r));
        Adam opt = new Adam(m.parameters(), Adam.Config.lr(0.01f));
        float[] xs = new float[200 * 30];
        int[] ys = new int[200];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < ys.length; i++) {
            ys[i] = r.nextInt(5);
        }
        for (int step = 0; step < 20; step++) {
            try (Scope s = Scope.open()) {
                opt.zeroGrad();
                m.forward(t(xs, 200, 30))
                        .crossEntropy(Tensor.ofInts(backend(), ys, 200))
                        .backward();
                opt.step();
            }
        }
        float[] w = m.parameters().get(0).toFloatArray();
        opt.close();
        m.close();
        return w;
    }

    @Test
    void sameSeedSameWeightsBitForBit() {
        float[] a = trainTwoLayerNet(11);
        float[] b = trainTwoLayerNet(11);
        assertArrayEquals(a, b, "two runs with the same seed");
        assertTrue(!Arrays.equals(a, trainTwoLayerNet(12)), "another seed differs");
    }

    // ------------------------------------------------------------------ optimizers

    @Test
    void sgdMatchesPytorchSemantics() {
        float[][] grads = {{0.5f, -1f}, {0.25f, 2f}, {-1f, 0.5f}};
        for (boolean nesterov : new boolean[] {false, true}) {
            Parameter p = new Parameter(t(new float[] {1f, -2f}, 2));
            SGD opt = new SGD(
                    List.of(p), SGD.Config.lr(0.1f).withMomentum(0.9f, nesterov).withWeightDecay(0.01f));
            double[] ref = {1, -2};
            double[] buf = new double[2];
            for (int step = 0; step < grads.length; step++) {
                p.zeroGrad();
                p.mul(t(grads[step], 2)).sum().backward();
                opt.step();
                for (int i = 0; i < 2; i++) {
                    double g = grads[step][i] + 0.01 * ref[i];
                    buf[i] = step == 0 ? g : 0.9 * buf[i] + g;
                    g = nesterov ? g + 0.9 * buf[i] : buf[i];
                    ref[i] -= 0.1 * g;
                }
            }
            float[] pv = p.toFloatArray();
            assertEquals(ref[0], pv[0], 1e-6, "sgd nesterov=" + nesterov);
            assertEquals(ref[1], pv[1], 1e-6, "sgd nesterov=" + nesterov);
            opt.close();
            p.close();
        }
    }

    @Test
    void adamMatchesPytorchSemantics() {
        float[][] grads = {{0.5f, -1f}, {0.25f, 2f}, {-1f, 0.5f}, {0.1f, 0.1f}};
        for (boolean decoupled : new boolean[] {false, true}) {
            Parameter p = new Parameter(t(new float[] {1f, -2f}, 2));
            Adam opt = new Adam(List.of(p), Adam.Config.lr(0.01f).withWeightDecay(0.1f, decoupled));
            double[] ref = {1, -2};
            double[] m = new double[2];
            double[] v = new double[2];
            for (int step = 1; step <= grads.length; step++) {
                p.zeroGrad();
                p.mul(t(grads[step - 1], 2)).sum().backward();
                opt.step();
                for (int i = 0; i < 2; i++) {
                    double g = grads[step - 1][i];
                    if (decoupled) {
                        ref[i] *= 1 - 0.01 * 0.1;
                    } else {
                        g += 0.1 * ref[i];
                    }
                    m[i] = 0.9 * m[i] + 0.1 * g;
                    v[i] = 0.999 * v[i] + 0.001 * g * g;
                    double mhat = m[i] / (1 - Math.pow(0.9, step));
                    double vhat = v[i] / (1 - Math.pow(0.999, step));
                    ref[i] -= 0.01 * mhat / (Math.sqrt(vhat) + 1e-8);
                }
            }
            float[] pv = p.toFloatArray();
            assertEquals(ref[0], pv[0], 1e-5, "adam decoupled=" + decoupled);
            assertEquals(ref[1], pv[1], 1e-5, "adam decoupled=" + decoupled);
            opt.close();
            p.close();
        }
    }

    @Test
    void summaryCountsParametersLikeKeras() {
        Sequential keras = new Sequential(
                new Dense(backend(), 784, 20, true, Init.GLOROT, rng),
                new ReLU(),
                new Dense(backend(), 20, 10, true, Init.GLOROT, rng));
        assertEquals(SummaryCounts.KERAS_784_20_10, keras.parameterCount());
        String table = keras.summary(Shape.of(1, 784));
        assertTrue(
                table.contains("0 Dense(784 -> 20)")
                        && table.contains("[1, 20]")
                        && table.contains("15,700")
                        && table.contains("Total params: 15,910")
                        && table.contains("Non-trainable params: 0"),
                table);
        Sequential deeper = new Sequential(
                new Dense(backend(), 784, 50, true, Init.GLOROT, rng),
                new ReLU(),
                new Dense(backend(), 50, 50, true, Init.GLOROT, rng),
                new ReLU(),
                new Dense(backend(), 50, 10, true, Init.GLOROT, rng));
        assertEquals(SummaryCounts.KERAS_784_50_50_10, deeper.parameterCount());
        Sequential flux = new Sequential(
                new Dense(backend(), 784, 48, true, Init.GLOROT, rng),
                new ReLU(),
                new Dense(backend(), 48, 10, true, Init.GLOROT, rng));
        assertEquals(SummaryCounts.FLUX_784_48_10, flux.parameterCount());
        Sequential bn = new Sequential(
                new Dense(backend(), 4, 3, true, Init.GLOROT, rng), new BatchNorm(backend(), BatchNorm.Config.of(3)));
        String t2 = bn.summary(Shape.of(2, 4));
        assertTrue(
                t2.contains("Total params: 27")
                        && t2.contains("Trainable params: 21")
                        && t2.contains("Non-trainable params: 6"),
                t2);
        keras.close();
        deeper.close();
        flux.close();
        bn.close();
    }

    @Test
    void denseRejectsWrongInputWidth() {
        Sequential model = new Sequential(new Dense(backend(), 784, 48, true, Init.PYTORCH, new Rng(1)), new ReLU());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> model.forward(rand(0, 1, 2, 785)));
        assertTrue(
                e.getMessage().contains("layer 0")
                        && e.getMessage().contains("784")
                        && e.getMessage().contains("[2, 785]"),
                e.getMessage());
        model.close();
        // a CNN built for 28x28 images, fed 32x32: the Dense layer after Flatten names what it expected
        Sequential cnn = new Sequential(
                new Conv2d(backend(), Conv2d.Config.of(1, 4, 3).withPadding(1), new Rng(2)),
                new MaxPool2d(2),
                new Flatten(),
                new Dense(backend(), 4 * 14 * 14, 10, true, Init.PYTORCH, new Rng(3)));
        IllegalArgumentException e2 =
                assertThrows(IllegalArgumentException.class, () -> cnn.forward(rand(0, 1, 2, 1, 32, 32)));
        assertEquals(
                "layer 3 Dense(784 -> 10): expected input [..., 784], got [2, 1024] (the"
                        + " model's input was [2, 1, 32, 32])",
                e2.getMessage());
        assertEquals(3, ((LayerException) e2).layer());
        // nested: the inner Sequential names its layer, the outer one keeps that message
        Sequential outer = new Sequential(new ReLU(), cnn);
        LayerException e3 = assertThrows(LayerException.class, () -> outer.forward(rand(0, 1, 2, 1, 32, 32)));
        assertEquals(3, e3.layer());
        assertTrue(e3.getMessage().startsWith("layer 3 Dense(784 -> 10)"), e3.getMessage());
        cnn.close();
    }
}
