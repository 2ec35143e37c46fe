package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.AdaptiveAvgPool2d;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Stepped slicing with Python's bounds (negative from the end, clamped) and {@code nn.AdaptiveAvgPool2d} with
 * PyTorch's bins, against plain references on odd shapes, gradients against central differences. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface SlicingAndPoolingConformance extends SuiteHelpers {
    /**
     * The positions Python's {@code range(n)[start:end:step]} holds (positive step), element by element: position
     * {@code i} is in when it is at or after the start, before the end (a negative bound counts from the end) and a
     * whole number of steps after the first position the slice can hold.
     */
    private static List<Integer> pythonSlice(int n, int start, int end, int step) {
        long first = start >= 0 ? start : Math.max(0L, (long) start + n);
        long stop = end >= 0 ? end : (long) end + n;
        List<Integer> picked = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (i >= first && i < stop && (i - first) % step == 0) {
                picked.add(i);
            }
        }
        return picked;
    }

    @Test
    default void steppedSliceFollowsPythonsBounds() {
        int[] dims = {4, 7, 5};
        float[] x = random(4 * 7 * 5, -3, 3);
        Tensor tx = t(x, dims);
        int[] bounds = {0, 1, 3, 7, 9, -1, -3, -7, -10, Integer.MAX_VALUE, Integer.MIN_VALUE};
        int checked = 0;
        for (int axis = 0; axis < 3; axis++) {
            int n = dims[axis];
            for (int start : bounds) {
                for (int end : bounds) {
                    for (int step : new int[] {1, 2, 3, 8}) {
                        List<Integer> want = pythonSlice(n, start, end, step);
                        Tensor y =
                                (axis == 1 ? tx.slice(axis - 3, start, end, step) : tx.slice(axis, start, end, step));
                        int[] outDims = dims.clone();
                        outDims[axis] = want.size();
                        String what = "slice(" + axis + ", " + start + ", " + end + ", " + step + ") of " + tx.shape();
                        assertEquals(Shape.of(outDims), y.shape(), what);
                        float[] got = y.toFloatArray();
                        int[] c = new int[3];
                        for (int f = 0; f < got.length; f++) {
                            int[] src = c.clone();
                            src[axis] = want.get(c[axis]);
                            assertEquals(x[(src[0] * 7 + src[1]) * 5 + src[2]], got[f], what + " element " + f);
                            for (int d = 2; d >= 0; d--) {
                                if (++c[d] < outDims[d]) {
                                    break;
                                }
                                c[d] = 0;
                            }
                        }
                        checked += got.length;
                    }
                }
            }
        }
        assertTrue(checked > 1000, "elements checked: " + checked);
        // By hand; a slice of a slice of a transposed view; INT32 tensors; step 1 without the step argument.
        Tensor r = t(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10);
        assertArrayEquals(
                new float[] {1, 4, 7}, r.slice(0, 1, Integer.MAX_VALUE, 3).toFloatArray());
        assertArrayEquals(new float[] {7, 9}, r.slice(0, -3, 100, 2).toFloatArray());
        assertArrayEquals(new float[] {8, 9}, r.slice(0, -2, Integer.MAX_VALUE).toFloatArray());
        assertArrayEquals(new float[] {4}, r.slice(0, 1, 9, 3).slice(0, 1, 2, 5).toFloatArray());
        assertEquals(0, r.slice(0, 6, 2, 1).numel());
        Tensor m = t(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 3, 4).t(); // [4, 3]
        assertArrayEquals(
                new float[] {1, 9, 3, 11}, m.slice(0, 1, 4, 2).slice(1, 0, 3, 2).toFloatArray());
        Tensor labels = Tensor.ofInts(suiteBackend(), new int[] {5, 6, 7, 8, 9}, 5);
        assertArrayEquals(new int[] {5, 7, 9}, labels.slice(0, 0, 5, 2).toIntArray());
        // A stepped view feeds the other ops as any view does.
        assertArrayEquals(
                new float[] {1 + 7, 4 + 7}, r.slice(0, 1, 6, 3).add(7f).toFloatArray());
    }

    @Test
    default void steppedSliceGradientsAndErrors() {
        gradCheck("slice step 2", in -> in[0].slice(1, -6, Integer.MAX_VALUE, 2), t(random(3 * 7, -1, 1), 3, 7));
        gradCheck(
                "slice of a transpose",
                in -> in[0].t().slice(0, 1, 5, 3).mul(in[0].t().slice(0, 0, 4, 3)),
                t(random(3 * 5, -1, 1), 3, 5));
        gradCheck("slice empty", in -> in[0].slice(0, 3, 1, 1).sum().add(in[0].sum()), t(random(4, -1, 1), 4));
        Tensor x = t(random(6, -1, 1), 2, 3);
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> x.slice(1, 0, 3, 0));
        assertTrue(
                zero.getMessage().startsWith("slice: step 0 must be positive")
                        && zero.getMessage().contains("[2, 3]"),
                zero.getMessage());
        IllegalArgumentException axis = assertThrows(IllegalArgumentException.class, () -> x.slice(2, 0, 1, 1));
        assertTrue(
                axis.getMessage().startsWith("slice: axis 2")
                        && axis.getMessage().contains("[2, 3]"),
                axis.getMessage());
        // The axis-0 batch slice keeps its strict bounds.
        assertThrows(IllegalArgumentException.class, () -> x.slice(1, 3));
    }

    /** PyTorch's adaptive average pooling of the last two axes, plainly. */
    private static float[] referenceAdaptive(float[] x, int planes, int h, int w, int oh, int ow) {
        float[] out = new float[planes * oh * ow];
        for (int p = 0; p < planes; p++) {
            for (int i = 0; i < oh; i++) {
                int h0 = (int) Math.floor((double) i * h / oh);
                int h1 = (int) Math.ceil((double) (i + 1) * h / oh);
                for (int j = 0; j < ow; j++) {
                    int w0 = (int) Math.floor((double) j * w / ow);
                    int w1 = (int) Math.ceil((double) (j + 1) * w / ow);
                    double sum = 0;
                    for (int a = h0; a < h1; a++) {
                        for (int b = w0; b < w1; b++) {
                            sum += x[(p * h + a) * w + b];
                        }
                    }
                    out[(p * oh + i) * ow + j] = (float) (sum / ((h1 - h0) * (w1 - w0)));
                }
            }
        }
        return out;
    }

    @Test
    default void adaptiveAvgPool2dAveragesPyTorchsBins() {
        // {input dims..., outH, outW}: uneven bins, even bins (the pooling kernel, square and not), global, a
        // 3-D input, an output larger than the input.
        int[][] cases = {
            {2, 3, 7, 5, 3, 2},
            {2, 3, 6, 4, 3, 2},
            {1, 2, 6, 4, 2, 2},
            {2, 3, 5, 7, 1, 1},
            {3, 5, 9, 4, 4},
            {1, 1, 3, 2, 5, 4},
            {2, 2, 8, 8, 8, 8}
        };
        for (int[] c : cases) {
            int[] in = Arrays.copyOf(c, c.length - 2);
            int oh = c[c.length - 2];
            int ow = c[c.length - 1];
            int h = in[in.length - 2];
            int w = in[in.length - 1];
            int planes = Shape.of(in).numel() / (h * w);
            float[] x = random(Shape.of(in).numel(), -2, 2);
            try (AdaptiveAvgPool2d pool = new AdaptiveAvgPool2d(oh, ow)) {
                Tensor y = pool.forward(t(x, in));
                int[] outDims = in.clone();
                outDims[in.length - 2] = oh;
                outDims[in.length - 1] = ow;
                String what = "AdaptiveAvgPool2d(" + oh + ", " + ow + ") of " + Arrays.toString(in);
                assertEquals(Shape.of(outDims), y.shape(), what);
                assertEquals(Shape.of(outDims), pool.outputShape(Shape.of(in)), what + ": outputShape");
                BackendConformance.assertClose(
                        referenceAdaptive(x, planes, h, w, oh, ow), y.toFloatArray(), 1e-5, what);
            }
        }
        // By hand: 5 columns into 3 bins, [0, 2), [1, 4), [3, 5).
        try (AdaptiveAvgPool2d pool = new AdaptiveAvgPool2d(1, 3)) {
            assertArrayEquals(
                    new float[] {1.5f, 3f, 4.5f},
                    pool.forward(t(new float[] {1, 2, 3, 4, 5}, 1, 1, 1, 5)).toFloatArray(),
                    1e-6f);
            assertEquals("AdaptiveAvgPool2d(1, 3)", pool.describe());
        }
    }

    @Test
    default void adaptiveAvgPool2dGradientsAndErrors() {
        try (AdaptiveAvgPool2d uneven = new AdaptiveAvgPool2d(2, 3);
                AdaptiveAvgPool2d even = new AdaptiveAvgPool2d(2)) {
            gradCheck(
                    "adaptiveAvgPool2d uneven",
                    in -> uneven.forward(in[0]),
                    t(random(2 * 2 * 5 * 4, -1, 1), 2, 2, 5, 4));
            gradCheck("adaptiveAvgPool2d even", in -> even.forward(in[0]), t(random(1 * 3 * 4 * 6, -1, 1), 1, 3, 4, 6));
            gradCheck("adaptiveAvgPool2d 3-D", in -> uneven.forward(in[0]), t(random(2 * 3 * 5, -1, 1), 2, 3, 5));
            IllegalArgumentException rank =
                    assertThrows(IllegalArgumentException.class, () -> even.forward(t(random(6, -1, 1), 2, 3)));
            assertTrue(
                    rank.getMessage().startsWith("AdaptiveAvgPool2d: ")
                            && rank.getMessage().contains("[2, 3]"),
                    rank.getMessage());
            IllegalArgumentException empty =
                    assertThrows(IllegalArgumentException.class, () -> even.forward(t(new float[0], 1, 2, 0, 3)));
            assertTrue(empty.getMessage().contains("[1, 2, 0, 3]"), empty.getMessage());
        }
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> new AdaptiveAvgPool2d(0));
        assertTrue(size.getMessage().startsWith("AdaptiveAvgPool2d: output size 0x0"), size.getMessage());
    }

    @Test
    default void adaptiveAvgPool2dKeepsInfinitiesAndNaNsInTheirBins() {
        // {input dims..., outH, outW, the +inf's index, the NaN's index}: uneven bins both ways, uneven one way,
        // 3-D, an output larger than the input.
        int[][] cases = {
            {1, 1, 5, 5, 3, 3, 12, 0},
            {2, 1, 6, 5, 3, 3, 31, 7},
            {2, 7, 4, 3, 2, 20, 55},
            {1, 1, 3, 2, 5, 4, 3, 4}
        };
        for (int[] c : cases) {
            int[] in = Arrays.copyOf(c, c.length - 4);
            int oh = c[c.length - 4];
            int ow = c[c.length - 3];
            int h = in[in.length - 2];
            int w = in[in.length - 1];
            int planes = Shape.of(in).numel() / (h * w);
            float[] x = random(Shape.of(in).numel(), -2, 2);
            x[c[c.length - 2]] = Float.POSITIVE_INFINITY;
            x[c[c.length - 1]] = Float.NaN;
            try (AdaptiveAvgPool2d pool = new AdaptiveAvgPool2d(oh, ow)) {
                float[] want = referenceAdaptive(x, planes, h, w, oh, ow);
                float[] got = pool.forward(t(x, in)).toFloatArray();
                String what = "AdaptiveAvgPool2d(" + oh + ", " + ow + ") of " + Arrays.toString(in) + " with inf at "
                        + c[c.length - 2] + " and NaN at " + c[c.length - 1];
                for (int i = 0; i < want.length; i++) {
                    boolean same = Float.isNaN(want[i])
                            ? Float.isNaN(got[i])
                            : Float.isInfinite(want[i])
                                    ? want[i] == got[i]
                                    : Math.abs(want[i] - got[i]) <= 1e-5 * Math.max(1, Math.abs(want[i]));
                    assertTrue(
                            same,
                            what + ": element " + i + " expected " + want[i] + " got " + got[i] + "\nexpected "
                                    + Arrays.toString(want) + "\nactual   " + Arrays.toString(got));
                }
            }
        }
    }

    @Test
    default void adaptiveAvgPool2dOutputShapeOfTooFewAxesNamesTheShape() {
        try (AdaptiveAvgPool2d pool = new AdaptiveAvgPool2d(3)) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> pool.outputShape(Shape.of(4)));
            assertEquals("AdaptiveAvgPool2d: expected [N, C, H, W] or [C, H, W], got [4]", e.getMessage());
        }
    }
}
