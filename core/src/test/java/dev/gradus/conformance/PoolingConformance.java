package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradus.Functional;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.PoolParams;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Max and average pooling against a plain reference (strides, padding, floor mode) on odd and round shapes, with
 * distinct values so the maximum is unique, and their gradients against central finite differences. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface PoolingConformance extends SuiteHelpers {
    private static float[] refPool(boolean max, float[] x, int[] xs, PoolParams p) {
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
    default void poolingMatchesReferenceAndFiniteDifferences() {
        int[][] cases = {{2, 3, 7, 7, 2, 2, 0}, {1, 2, 6, 5, 3, 2, 1}, {2, 1, 4, 4, 2, 1, 0}, {1, 1, 28, 28, 2, 2, 0}};
        for (int[] cs : cases) {
            PoolParams p = new PoolParams(cs[4], cs[4], cs[5], cs[5], cs[6], cs[6]);
            int[] xs = {cs[0], cs[1], cs[2], cs[3]};
            // distinct values so the maximum is unique and finite differences are valid
            float[] v = new float[Shape.of(xs).numel()];
            int[] perm = suiteRng().permutation(v.length);
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
}
