package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.DType;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.ValuesAndIndices;
import java.util.Arrays;
import java.util.Comparator;
import org.junit.jupiter.api.Test;

/**
 * {@code sort} and {@code topk} against a plain stable sort with PyTorch's order (NaN the largest, {@code -0.0}
 * equal to {@code 0.0}) on odd shapes with ties, along every axis, and their gradients against central
 * differences. Part of {@link BackendConformance}, so every backend runs it.
 */
interface SortAndTopkConformance extends SuiteHelpers {
    /** Values with ties, signed zeros, infinities and NaNs. */
    private float[] awkward(int n) {
        float[] v = random(n, -3, 3);
        float[] special = {Float.NaN, 0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.floor(v[i]); // ties
            if (i % 5 == 2) {
                v[i] = special[(i / 5) % special.length];
            }
        }
        return v;
    }

    /**
     * The reference: for each run along {@code axis} of {@code x} (shape {@code dims}), the positions in a stable
     * sort by PyTorch's order, the first {@code k} of them; row-major in the output's shape.
     */
    private static int[] referenceOrder(float[] x, int[] dims, int axis, int k, boolean descending) {
        int n = dims[axis];
        int outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= dims[d];
        }
        int inner = 1;
        for (int d = axis + 1; d < dims.length; d++) {
            inner *= dims[d];
        }
        Comparator<Float> ascending = (p, q) -> {
            if (Float.isNaN(p) || Float.isNaN(q)) {
                return Boolean.compare(Float.isNaN(p), Float.isNaN(q));
            }
            return p < q ? -1 : (p > q ? 1 : 0);
        };
        Comparator<Float> order = descending ? ascending.reversed() : ascending;
        int[] out = new int[outer * k * inner];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                Integer[] pos = new Integer[n];
                float[] run = new float[n];
                for (int j = 0; j < n; j++) {
                    pos[j] = j;
                    run[j] = x[(o * n + j) * inner + i];
                }
                Arrays.sort(pos, (p, q) -> order.compare(run[p], run[q])); // a stable merge sort
                for (int r = 0; r < k; r++) {
                    out[(o * k + r) * inner + i] = pos[r];
                }
            }
        }
        return out;
    }

    /** Checks values and indices of {@code got} against the reference order of {@code x} along {@code axis}. */
    private static void checkPicked(
            String what, ValuesAndIndices got, float[] x, int[] dims, int axis, int k, boolean descending) {
        int[] outDims = dims.clone();
        outDims[axis] = k;
        assertEquals(Shape.of(outDims), got.values().shape(), what + ": values' shape");
        assertEquals(Shape.of(outDims), got.indices().shape(), what + ": indices' shape");
        assertEquals(DType.INT32, got.indices().dtype(), what + ": indices' dtype");
        int[] want = referenceOrder(x, dims, axis, k, descending);
        int[] idx = got.indices().toIntArray();
        assertArrayEquals(want, idx, what + ": indices of " + Arrays.toString(x));
        float[] values = got.values().toFloatArray();
        int inner = 1;
        for (int d = axis + 1; d < dims.length; d++) {
            inner *= dims[d];
        }
        for (int f = 0; f < values.length; f++) {
            int i = f % inner;
            int o = f / inner / k;
            float expected = x[(o * dims[axis] + want[f]) * inner + i];
            assertEquals(
                    Float.floatToIntBits(expected),
                    Float.floatToIntBits(values[f]),
                    what + ": value " + f + " expected " + expected + " got " + values[f]);
        }
    }

    @Test
    default void sortIsStableWithPyTorchsOrderAlongEveryAxis() {
        int[] dims = {3, 7, 5};
        float[] x = awkward(3 * 7 * 5);
        Tensor tx = t(x, dims);
        for (int axis = 0; axis < 3; axis++) {
            for (boolean descending : new boolean[] {false, true}) {
                String what = "sort axis " + axis + (descending ? " descending" : "");
                checkPicked(what, tx.sort(axis, descending), x, dims, axis, dims[axis], descending);
                checkPicked(
                        what + " (negative axis)",
                        tx.sort(axis - 3, descending),
                        x,
                        dims,
                        axis,
                        dims[axis],
                        descending);
            }
        }
        // A transposed view is sorted by its own axes.
        float[] xt = tx.transpose(0, 2).contiguous().toFloatArray();
        checkPicked("sort of a transposed view", tx.transpose(0, 2).sort(1, true), xt, new int[] {5, 7, 3}, 1, 7, true);
        // By hand: NaN last ascending, first descending; ties in their order; -0.0 and 0.0 are equal.
        ValuesAndIndices up = t(new float[] {2, Float.NaN, -0f, 1, 0f, 1}, 6).sort();
        assertArrayEquals(new int[] {2, 4, 3, 5, 0, 1}, up.indices().toIntArray());
        ValuesAndIndices down = t(new float[] {2, Float.NaN, -0f, 1, 0f, 1}, 6).sort(0, true);
        assertArrayEquals(new int[] {1, 0, 3, 5, 2, 4}, down.indices().toIntArray());
        assertArrayEquals(
                new float[] {Float.NaN, 2, 1, 1, -0f, 0f}, down.values().toFloatArray());
    }

    @Test
    default void topkPicksTheLargestOrSmallestInOrder() {
        int[] dims = {4, 9, 3};
        float[] x = awkward(4 * 9 * 3);
        Tensor tx = t(x, dims);
        for (int axis = 0; axis < 3; axis++) {
            for (int k : new int[] {0, 1, 2, dims[axis]}) {
                for (boolean largest : new boolean[] {true, false}) {
                    String what = "topk k " + k + " axis " + axis + (largest ? " largest" : " smallest");
                    checkPicked(what, tx.topk(k, axis, largest, true), x, dims, axis, k, largest);
                    checkPicked(what + " unsorted", tx.topk(k, axis, largest, false), x, dims, axis, k, largest);
                }
            }
        }
        float[] row = {0.5f, 3f, -1f, 3f, Float.NaN, 2f, 7f};
        ValuesAndIndices top = t(row, 7).topk(3);
        assertArrayEquals(new int[] {4, 6, 1}, top.indices().toIntArray());
        ValuesAndIndices bottom = t(row, 7).topk(2, 0, false, true);
        assertArrayEquals(new float[] {-1f, 0.5f}, bottom.values().toFloatArray());
        assertArrayEquals(new int[] {2, 0}, bottom.indices().toIntArray());
    }

    @Test
    default void sortAndTopkOnScalarsAndEmptyTensors() {
        ValuesAndIndices s = t(new float[] {4f}).sort(0, false);
        assertEquals(0, s.values().shape().rank());
        assertEquals(4f, s.values().item());
        assertEquals(0, s.indices().toIntArray()[0]);
        ValuesAndIndices empty = t(new float[0], 0, 3).sort(1, true);
        assertEquals(Shape.of(0, 3), empty.values().shape());
        assertEquals(Shape.of(0, 3), empty.indices().shape());
        ValuesAndIndices none = t(random(6, -1, 1), 2, 3).topk(0, 1, true, true);
        assertEquals(Shape.of(2, 0), none.values().shape());
        assertEquals(0, none.indices().numel());
    }

    @Test
    default void sortAndTopkGradientsGoBackToEachValuesPlace() {
        // Values 0.5 apart, shuffled, so that a finite-difference step never reorders them.
        float[] v = new float[3 * 5];
        for (int i = 0; i < v.length; i++) {
            v[i] = ((i * 7) % v.length - 7) * 0.5f;
        }
        gradCheck("sort", in -> in[0].sort(1, false).values(), t(v, 3, 5));
        gradCheck("sort descending axis 0", in -> in[0].sort(0, true).values(), t(v, 3, 5));
        gradCheck("topk", in -> in[0].topk(2, 1, true, true).values(), t(v, 3, 5));
        gradCheck("topk smallest axis 0", in -> in[0].topk(2, 0, false, true).values(), t(v, 3, 5));
        // Only the picked places get a gradient, each its own.
        Tensor x = t(new float[] {1, 5, 3, 4}, 4).requiresGrad(true);
        x.topk(2).values().mul(t(new float[] {10, 20}, 2)).sum().backward();
        assertArrayEquals(new float[] {0, 10, 0, 20}, x.grad().toFloatArray());
    }

    @Test
    default void sortAndTopkErrorsNameTheOpAndShape() {
        Tensor x = t(random(12, -1, 1), 3, 4);
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> x.topk(5, 1, true, true));
        assertTrue(big.getMessage().startsWith("topk: k 5") && big.getMessage().contains("[3, 4]"), big.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> x.topk(-1));
        assertTrue(negative.getMessage().startsWith("topk: k -1"), negative.getMessage());
        IllegalArgumentException axis = assertThrows(IllegalArgumentException.class, () -> x.sort(2, false));
        assertTrue(
                axis.getMessage().startsWith("sort: axis 2")
                        && axis.getMessage().contains("[3, 4]"),
                axis.getMessage());
        IllegalArgumentException topAxis =
                assertThrows(IllegalArgumentException.class, () -> x.topk(1, -3, true, true));
        assertTrue(topAxis.getMessage().startsWith("topk: axis -3"), topAxis.getMessage());
        Tensor ints = Tensor.ofInts(suiteBackend(), new int[] {3, 1, 2}, 3);
        IllegalArgumentException dtype = assertThrows(IllegalArgumentException.class, () -> ints.sort());
        assertTrue(dtype.getMessage().startsWith("sort: needs a FLOAT32"), dtype.getMessage());
    }
}
