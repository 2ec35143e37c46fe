package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.gradus.Backends;
import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The suite every backend runs: each op against a plain Java reference, each gradient against central finite
 * differences, on odd and round shapes and broadcasting edge cases.
 *
 * <p>A backend's test extends this class and returns its backend from {@link #backend()}. Tolerances: forward
 * ops 1e-5 relative (GEMM 1e-4, it reorders sums), gradients 2e-2 (float32 finite differences).
 *
 * <p>The tests live in one interface per subject, each named in the {@code implements} clause (one a line, sorted),
 * so a backend's test runs them all:
 *
 * <ul>
 *   <li>{@link ActivationsAndLossesConformance}: the composed activations (LeakyReLU, SiLU, Softplus, tanh-GELU)
 *       and losses (BCE with logits, L1, smooth L1, Huber, NLL, label smoothing, KL divergence);
 *   <li>{@link AnomalyConformance}: anomaly mode naming the op, or the layer, that first made a NaN or an infinity;
 *   <li>{@link AutodiffConformance}: autodiff semantics (accumulation, seeds, freed graphs, noGrad, detach),
 *       gradient clipping, custom ops, fused kernels refusing operands that are not dense;
 *   <li>{@link BatchNormConformance}: batch norm in training and evaluation mode, running statistics, large shapes;
 *   <li>{@link BuiltInOpsConformance}: the built-in ops called as {@code Op}s: scalar attributes, misuse, names;
 *   <li>{@link ConvTransposeConformance}: the transposed convolution and the ConvTranspose2d layer;
 *   <li>{@link ConvolutionConformance}: conv2d, its fused ReLU and max-pool forms, Sequential's rewrites;
 *   <li>{@link CustomOpConformance}: users' own ops through {@code dev.gradus.ops.Op}: Java and CUDA kernels, backward;
 *   <li>{@link CustomOpMisuseConformance}: users' ops that break Op's contract (a lying shape rule, a kernel that
 *       throws or writes its inputs), each named in one line;
 *   <li>{@link ElementwiseConformance}: the unary and binary ops forward, NumPy broadcasting, shape messages;
 *   <li>{@link FusionConformance}: the fusion of Conv2d subclasses in a Sequential;
 *   <li>{@link GradientConformance}: the core ops' gradients against finite differences, a Dense layer's;
 *   <li>{@link LayersConformance}: dropout, a CNN's layers composed in a Sequential, wrong inputs named, Keras's
 *       parameter counts;
 *   <li>{@link MatmulConformance}: matrix products, batched, broadcast, on vectors and on strided views;
 *   <li>{@link MemoryConformance}: scopes, closing, trim, no allocations in steady-state training, seeded runs
 *       bit for bit;
 *   <li>{@link ModelFilesConformance}: safetensors round trips, headers, corrupt files, byte-stable saves;
 *   <li>{@link NanAndSizesConformance}: NaN propagation, empty tensors, sizes too large;
 *   <li>{@link OptimizerConformance}: SGD and Adam against PyTorch's update rules, fused steps against tensor code;
 *   <li>{@link PoolingConformance}: max and average pooling and their gradients;
 *   <li>{@link ReductionsAndSelectionConformance}: var, std, sums over several axes, select, flip, tril/triu,
 *       maskedFill, cumsum, clone, linspace, Conv1d, GroupNorm;
 *   <li>{@link ReductionsConformance}: sum, mean, max and argmax along each axis and over everything;
 *   <li>{@link ReferenceDifferential}: each SPI op against the ReferenceBackend on odd, strided, broadcast layouts;
 *   <li>{@link ReferenceDifferentialPaths}: large sizes and a CNN's chained ops against the ReferenceBackend;
 *   <li>{@link SequenceLayersConformance}: LayerNorm, Embedding, LSTM, GRU, attention, the transformer encoder;
 *   <li>{@link SlicingAndPoolingConformance}: stepped slicing and adaptive average pooling;
 *   <li>{@link SoftmaxAndLossConformance}: softmax, logSoftmax and cross-entropy forward;
 *   <li>{@link SortAndTopkConformance}: sort and topk with PyTorch's order;
 *   <li>{@link SummaryConformance}: summary() of Sequential models and of a user's own modules;
 *   <li>{@link TensorOpsConformance}: the PyTorch-named tensor ops (comparisons, where, clamp, permute, gather, ...);
 *   <li>{@link UpdateKernelConformance}: elementwise in-place updates ({@code Backend.runUpdate}), the route of the
 *       optimizers' fused steps;
 *   <li>{@link ViewsConformance}: views and integer tensors.
 * </ul>
 *
 * <p>This class holds what they share: the backend hook, the scope around each test, the helpers of
 * {@link SuiteHelpers}, which the interfaces extend ({@link #t}, {@link #rand}, {@link #random},
 * {@link #gradCheck}, {@link #suiteBackend}, {@link #suiteRng}) and the static ones they import ({@link #assertClose}, {@link #broadcastIndex},
 * {@link #refErf}, {@link #refLogSoftmax}, {@link #BROADCAST_CASES}, {@link #grads}).
 */
public abstract class BackendConformance
        implements ActivationsAndLossesConformance,
                AnomalyConformance,
                AutodiffConformance,
                BatchNormConformance,
                BuiltInOpsConformance,
                ConvTransposeConformance,
                ConvolutionConformance,
                CustomOpConformance,
                CustomOpMisuseConformance,
                ElementwiseConformance,
                FusionConformance,
                GradientConformance,
                LayersConformance,
                MatmulConformance,
                MemoryConformance,
                ModelFilesConformance,
                NanAndSizesConformance,
                OptimizerConformance,
                PoolingConformance,
                ReductionsAndSelectionConformance,
                ReductionsConformance,
                ReferenceDifferential,
                ReferenceDifferentialPaths,
                SequenceLayersConformance,
                SlicingAndPoolingConformance,
                SoftmaxAndLossConformance,
                SortAndTopkConformance,
                SummaryConformance,
                TensorOpsConformance,
                UpdateKernelConformance,
                ViewsConformance {
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

    @Override
    public Rng suiteRng() {
        return rng;
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

    /** Deletes {@code dir} and the files in it (a test's scratch folder, no subfolders). */
    static void deleteScratchDir(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    /** Reference log-softmax of each row of the row-major [rows, cols] {@code x}, in double, max subtracted first. */
    static double[] refLogSoftmax(float[] x, int rows, int cols) {
        double[] out = new double[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) {
                max = Math.max(max, x[r * cols + c]);
            }
            double sum = 0;
            for (int c = 0; c < cols; c++) {
                sum += Math.exp(x[r * cols + c] - max);
            }
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = x[r * cols + c] - max - Math.log(sum);
            }
        }
        return out;
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

    /** Shape pairs for the binary ops: equal, trailing, middle and leading ones, scalars, both sides broadcast. */
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

    /** Gradients of {@code f} with respect to each input, for a fixed upstream gradient {@code dOut}. */
    static float[][] grads(Function<Tensor[], Tensor> f, Tensor dOut, Tensor... inputs) {
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
}
