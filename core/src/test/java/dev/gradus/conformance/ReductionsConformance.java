package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradus.Shape;
import dev.gradus.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * {@code sum}, {@code mean}, {@code max} and {@code argmax} along each axis, with and without kept dimensions, and
 * over the whole tensor, against plain references on a small odd shape and on one with many short rows. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface ReductionsConformance extends SuiteHelpers {
    @Test
    default void reductionsAlongEachAxis() {
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
}
