package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.DType;
import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.PoolParams;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * NaN, empty tensors and sizes as PyTorch has them: {@code max}/{@code min} and the elementwise
 * {@code maximum}/{@code minimum} propagate NaN, {@code argmax}/{@code argmin} point at the first NaN, ReLU and max
 * pooling keep NaN (so one NaN weight gives NaN logits on every convolution path), a sum over nothing is 0, a
 * maximum over nothing throws, and a shape too large for an int or for the backend is refused in one line naming it.
 * Part of {@link BackendConformance}, so every backend runs it.
 */
interface NanAndSizesConformance extends SuiteHelpers {
    float NAN = Float.NaN;

    /** Plain reference: the maximum of a row, NaN when one is NaN; its index the first NaN's. */
    private static float[] refMax(float[] row) {
        float m = row[0];
        int at = 0;
        for (int k = 1; k < row.length && !Float.isNaN(m); k++) {
            if (row[k] > m || Float.isNaN(row[k])) {
                m = row[k];
                at = k;
            }
        }
        return new float[] {m, at};
    }

    @Test
    default void maxMinArgmaxArgminPropagateNaN() {
        Tensor x = t(new float[] {1, NAN, 3}, 3);
        assertTrue(Float.isNaN(x.max(0, false).item()), "max([1, NaN, 3]) is NaN");
        assertTrue(Float.isNaN(x.min(0, false).item()), "min([1, NaN, 3]) is NaN");
        assertArrayEquals(new int[] {1}, x.argmax(0).reshape(1).toIntArray(), "argmax([1, NaN, 3])");
        assertArrayEquals(new int[] {1}, x.argmin(0).reshape(1).toIntArray(), "argmin([1, NaN, 3])");
        // NaN first, last, twice, and rows without one; short rows, long rows (past a tile and a GPU block), and
        // columns (reduced over axis 0), on odd sizes.
        for (int len : new int[] {1, 2, 5, 37, 300, 2500, 5000}) {
            for (int rows : new int[] {1, 3}) {
                float[] v = random(rows * len, -5, 5);
                Rng r = new Rng(len * 31L + rows);
                for (int row = 0; row < rows; row++) {
                    if (row == 1) {
                        continue; // a row without NaN
                    }
                    int a = (int) (r.nextFloat() * len);
                    int b = (int) (r.nextFloat() * len);
                    v[row * len + a] = NAN;
                    v[row * len + b] = NAN;
                }
                if (len > 1) {
                    v[len - 1] = NAN; // the last element of row 0
                }
                checkRowMax(v, rows, len);
            }
        }
    }

    private void checkRowMax(float[] v, int rows, int len) {
        Tensor x = t(v, rows, len);
        float[] max = x.max(1, false).toFloatArray();
        int[] arg = x.argmax(1).toIntArray();
        float[] min = x.min(1, false).toFloatArray();
        int[] argMin = x.argmin(1).toIntArray();
        // the same along axis 0 of the transpose, made contiguous: the column kernels
        Tensor xt = x.transpose(0, 1).contiguous();
        float[] maxCols = xt.max(0, false).toFloatArray();
        int[] argCols = xt.argmax(0).toIntArray();
        for (int row = 0; row < rows; row++) {
            float[] r = new float[len];
            float[] neg = new float[len];
            System.arraycopy(v, row * len, r, 0, len);
            for (int k = 0; k < len; k++) {
                neg[k] = -r[k];
            }
            float[] ref = refMax(r);
            float[] refMin = refMax(neg);
            String what = "row " + row + " of [" + rows + ", " + len + "]";
            assertEquals(ref[0], max[row], 0f, "max of " + what);
            assertEquals((int) ref[1], arg[row], "argmax of " + what);
            assertEquals(-refMin[0], min[row], 0f, "min of " + what);
            assertEquals((int) refMin[1], argMin[row], "argmin of " + what);
            assertEquals(ref[0], maxCols[row], 0f, "max over axis 0 of the transpose, " + what);
            assertEquals((int) ref[1], argCols[row], "argmax over axis 0 of the transpose, " + what);
        }
    }

    @Test
    default void maximumMinimumAndClampPropagateNaN() {
        Tensor a = t(new float[] {1, NAN, 3, NAN, -2}, 5);
        Tensor b = t(new float[] {NAN, 2, 1, NAN, -3}, 5);
        assertArrayEquals(new float[] {NAN, NAN, 3, NAN, -2}, a.maximum(b).toFloatArray(), "maximum (torch.maximum)");
        assertArrayEquals(new float[] {NAN, NAN, 1, NAN, -3}, a.minimum(b).toFloatArray(), "minimum (torch.minimum)");
        assertArrayEquals(new float[] {1, NAN, 2, NAN, 0}, a.clamp(0, 2).toFloatArray(), "clamp keeps NaN");
        // broadcast against a scalar-like row
        Tensor m = t(new float[] {NAN}, 1);
        assertArrayEquals(new float[] {NAN, NAN, NAN, NAN, NAN}, a.maximum(m).toFloatArray(), "maximum with [NaN]");
    }

    @Test
    default void reluKeepsNaNAndPassesItsGradient() {
        // 20001 elements: large enough for a backend's vector paths (oneDNN's eltwise takes 16384 and up)
        for (int n : new int[] {7, 20001}) {
            float[] v = random(n, -1, 1);
            v[0] = NAN;
            v[n / 2] = NAN;
            v[n - 1] = -NAN;
            Tensor x = t(v, n).requiresGrad(true);
            Tensor y = x.relu();
            float[] yv = y.toFloatArray();
            float[] w = random(n, 0.5f, 1.5f);
            y.mul(t(w, n)).sum().backward();
            float[] g = x.grad().toFloatArray();
            for (int i = 0; i < n; i++) {
                float want = Float.isNaN(v[i]) ? NAN : Math.max(v[i], 0f);
                assertEquals(want, yv[i], 0f, "relu at " + i + " of " + n);
                // PyTorch's threshold_backward: grad where the output is not <= 0, so NaN passes the gradient
                float wantGrad = yv[i] <= 0f ? 0f : w[i];
                assertEquals(wantGrad, g[i], 0f, "relu's gradient at " + i + " of " + n + " (x = " + v[i] + ")");
            }
        }
    }

    @Test
    default void maxPoolingKeepsNaN() {
        // 2x2 stride 2 (the fast path) and 3x3 stride 1 padded (the general one), a NaN in some windows
        for (PoolParams p : new PoolParams[] {new PoolParams(2, 2, 2, 2, 0, 0), new PoolParams(3, 3, 1, 1, 1, 1)}) {
            float[] v = random(2 * 3 * 6 * 6, -1, 1);
            v[7] = NAN; // plane 0, (1, 1)
            v[36 + 35] = NAN; // plane 1, (5, 5)
            v[5 * 36 + 12] = NAN; // plane 5, (2, 0)
            Tensor x = t(v, 2, 3, 6, 6).requiresGrad(true);
            Tensor y = Functional.maxPool2d(x, p);
            float[] yv = y.toFloatArray();
            int oh = p.outH(6);
            int ow = p.outW(6);
            for (int pl = 0; pl < 6; pl++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        boolean nan = false;
                        float best = Float.NEGATIVE_INFINITY;
                        for (int r = 0; r < p.kernelH(); r++) {
                            for (int s = 0; s < p.kernelW(); s++) {
                                int yy = i * p.strideH() - p.padH() + r;
                                int xx = j * p.strideW() - p.padW() + s;
                                if (yy >= 0 && yy < 6 && xx >= 0 && xx < 6) {
                                    float e = v[pl * 36 + yy * 6 + xx];
                                    nan |= Float.isNaN(e);
                                    best = Math.max(best, e);
                                }
                            }
                        }
                        float got = yv[(pl * oh + i) * ow + j];
                        assertEquals(nan ? NAN : best, got, 0f, p + ": plane " + pl + " at (" + i + ", " + j + ")");
                    }
                }
            }
            // The gradient of a window holding NaN goes to a NaN (the maximum PyTorch picks), not to a number.
            y.sum().backward();
            float[] g = x.grad().toFloatArray();
            assertTrue(g[7] > 0 && g[36 + 35] > 0 && g[5 * 36 + 12] > 0, p + ": the NaN positions get the gradient");
        }
    }

    /**
     * One NaN in a convolution's weight makes every logit NaN, on every path: fused conv+ReLU(+pool), blocked
     * layouts (16 channels), im2col. The training loop's NaN stop depends on it.
     */
    @Test
    default void oneNaNWeightGivesNaNLogits() {
        Backend be = suiteBackend();
        Rng rng = new Rng(5);
        Sequential model = new Sequential(
                new Conv2d(be, Conv2d.Config.of(3, 16, 3).withPadding(1), rng),
                new ReLU(),
                new MaxPool2d(2),
                new Conv2d(be, Conv2d.Config.of(16, 16, 3).withPadding(1), rng),
                new ReLU(),
                new MaxPool2d(2),
                new Flatten(),
                new Dense(be, 16 * 4 * 4, 10, true, Init.PYTORCH, rng));
        try {
            checkNaNLogits(be, model);
        } finally {
            model.close();
        }
    }

    private void checkNaNLogits(Backend be, Sequential model) {
        Tensor x = rand(0, 1, 4, 3, 16, 16);
        float[] clean = model.forward(x).toFloatArray();
        for (float c : clean) {
            assertTrue(Float.isFinite(c), "logits without NaN are finite");
        }
        for (int layer : new int[] {0, 3}) {
            Tensor w = model.namedParameters().get(layer + ".weight");
            float[] wv = w.toFloatArray();
            float saved = wv[5];
            wv[5] = NAN;
            be.write(w.operand().storage(), w.layout().offset(), wv, 0, wv.length);
            float[] logits = model.forward(x).toFloatArray();
            for (int i = 0; i < logits.length; i++) {
                assertTrue(Float.isNaN(logits[i]), "layer " + layer + "'s NaN weight: logit " + i + " = " + logits[i]);
            }
            Tensor loss = model.forward(x).crossEntropy(Tensor.ofInts(be, new int[] {1, 2, 3, 4}, 4));
            assertTrue(Float.isNaN(loss.item()), "the loss is NaN");
            wv[5] = saved;
            be.write(w.operand().storage(), w.layout().offset(), wv, 0, wv.length);
        }
        assertArrayEquals(clean, model.forward(x).toFloatArray(), "the same logits once the weight is back");
    }

    // ------------------------------------------------------------------ empty tensors

    @Test
    default void emptyTensorsReduceAsPyTorch() {
        Backend be = suiteBackend();
        assertEquals(0f, Tensor.zeros(be, 0).sum().item(), 0f, "sum of an empty tensor");
        assertTrue(Float.isNaN(Tensor.zeros(be, 0).mean().item()), "mean of an empty tensor is NaN");
        assertTrue(Float.isNaN(Tensor.zeros(be, 0, 3).mean().item()), "mean of [0, 3]");
        Tensor e = Tensor.zeros(be, 0, 3);
        assertArrayEquals(new float[3], e.sum(0, false).toFloatArray(), "sum over the empty axis of [0, 3]");
        assertEquals(Shape.of(1, 3), e.sum(0, true).shape());
        assertEquals(Shape.of(0), e.sum(1, false).shape(), "sum over axis 1 of [0, 3]");
        assertEquals(Shape.of(0), e.max(1, false).shape(), "max over a non-empty axis of [0, 3]");
        assertEquals(Shape.of(0), e.argmax(1).shape(), "argmax over a non-empty axis of [0, 3]");
        assertTrue(Float.isNaN(e.mean(0, false).toFloatArray()[0]), "mean over the empty axis is NaN");
        for (String op : new String[] {"max", "min", "argmax", "argmin"}) {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> {
                Tensor unused = switch (op) {
                    case "max" -> e.max(0, false);
                    case "min" -> e.min(0, false);
                    case "argmax" -> e.argmax(0);
                    default -> e.argmin(0);
                };
            });
            String m = ex.getMessage();
            assertTrue(m.startsWith(op + ":") && m.contains("[0, 3]") && m.contains("empty") && !m.contains("\n"), m);
        }
        // the gradient of a sum over nothing is an empty tensor
        Tensor g = Tensor.zeros(be, 0, 3).requiresGrad(true);
        g.sum().backward();
        assertEquals(Shape.of(0, 3), g.grad().shape());
    }

    @Test
    default void opsOnEmptyBatchesGiveEmptyResults() {
        Backend be = suiteBackend();
        Tensor x = Tensor.zeros(be, 0, 4);
        assertEquals(Shape.of(0, 4), x.add(rand(0, 1, 4)).shape(), "add");
        assertEquals(Shape.of(0, 4), x.relu().exp().shape(), "relu, exp");
        assertEquals(Shape.of(0, 5), x.matmul(rand(0, 1, 4, 5)).shape(), "matmul [0, 4] x [4, 5]");
        assertArrayEquals(
                new float[12],
                Tensor.zeros(be, 3, 0).matmul(Tensor.zeros(be, 0, 4)).toFloatArray(),
                "matmul [3, 0] x [0, 4] is zeros");
        assertEquals(Shape.of(0, 4), x.logSoftmax(-1).shape(), "logSoftmax");
        Dense d = new Dense(be, 4, 5, true, Init.PYTORCH, new Rng(1));
        assertEquals(Shape.of(0, 5), d.forward(x).shape(), "Dense on an empty batch");
        d.close();
        assertEquals(Shape.of(0, 2, 3), Tensor.zeros(be, 0, 6).reshape(0, 2, 3).shape(), "reshape");
        assertEquals(Shape.of(4, 0), x.transpose(0, 1).contiguous().shape(), "transpose");
        assertEquals(0, x.toFloatArray().length);
    }

    // ------------------------------------------------------------------ sizes

    @Test
    default void shapesTooLargeAreRefusedByName() {
        Backend be = suiteBackend();
        // 65535 * 65537 * 641 * 6700417 = 2^64 - 1: a long product wraps to -1
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(be, 65535, 65537, 641, 6700417));
        assertOneLine(e, "[65535, 65537, 641, 6700417]");
        // 65536 * 65536 * 256 * 4 = 2^42 fits a long; int arithmetic would wrap it to 0
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(be, 65536, 65536, 256, 4));
        assertOneLine(e, "[65536, 65536, 256, 4]");
        // a product that wraps (in 64 bits) to exactly 2^20 floats, 4 MB: refused, not accepted
        e = assertThrows(
                IllegalArgumentException.class, () -> Tensor.zeros(be, 1 << 20, 1 << 22, 1 << 22, 1 << 20, 1 << 20));
        assertOneLine(e, "[1048576, 4194304, 4194304, 1048576, 1048576]");
        // Dense(200000, 200000): 4e10 weights, refused naming the shape and the bytes, not an OutOfMemoryError
        e = assertThrows(
                IllegalArgumentException.class, () -> new Dense(be, 200000, 200000, true, Init.PYTORCH, new Rng(1)));
        assertOneLine(e, "[200000, 200000]");
        assertTrue(e.getMessage().contains("Dense") && e.getMessage().contains("bytes"), e.getMessage());
        // above the backend's own limit (the CPU's direct buffers: 2^31-1 bytes, 536870911 floats)
        int max = be.maxElements(DType.FLOAT32);
        if (max < Integer.MAX_VALUE) {
            int rows = max / 1024 + 1;
            String shape = "[" + rows + ", 1024]";
            for (Supplier<Object> make : List.<Supplier<Object>>of(
                    () -> Tensor.zeros(be, rows, 1024),
                    () -> Tensor.empty(be, DType.FLOAT32, rows, 1024),
                    () -> Tensor.randn(be, new Rng(1), rows, 1024),
                    () -> new Dense(be, 1024, rows, false, Init.PYTORCH, new Rng(1)))) {
                e = assertThrows(IllegalArgumentException.class, make::get);
                assertOneLine(e, shape);
                assertTrue(e.getMessage().contains(String.valueOf(max)), "names the limit: " + e.getMessage());
            }
        }
    }

    @Test
    default void convolutionWhoseSizeWouldWrapIsRefused() {
        Tensor x = rand(0, 1, 1, 1, 5, 5);
        Tensor w = rand(0, 1, 1, 1, 3, 3);
        // dilation * (3 - 1) = 3e9 wraps to a negative int, so 5 - that gave a positive output size
        for (ConvParams p : new ConvParams[] {
            new ConvParams(1_000_000_000, 1_000_000_000, 0, 0, 1_500_000_000, 1_500_000_000, 1),
            new ConvParams(1, 1, 0, 0, 1_500_000_000, 1, 1),
            new ConvParams(1, 1, 0, 0, Integer.MAX_VALUE, Integer.MAX_VALUE, 1)
        }) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(x, w, null, p));
            assertOneLine(e, "[1, 1, 5, 5]");
            assertTrue(e.getMessage().contains("[1, 1, 3, 3]"), e.getMessage());
        }
        // a padding so large the output does not fit: refused by name as well
        ConvParams huge = new ConvParams(1, 1, 1_500_000_000, 1_500_000_000, 1, 1, 1);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(x, w, null, huge));
        assertOneLine(e, "[1, 1, 5, 5]");
        assertFalse(e.getMessage().contains("-"), "no wrapped negative size: " + e.getMessage());
    }

    private static void assertOneLine(IllegalArgumentException e, String shape) {
        String m = e.getMessage();
        assertTrue(m != null && m.contains(shape) && !m.contains("\n"), "one line naming " + shape + ": " + m);
    }
}
