package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Conv1d;
import dev.gradus.nn.GroupNorm;
import dev.gradus.spi.Backend;
import org.junit.jupiter.api.Test;

/**
 * Variance, standard deviation, sums over several axes, select, flip, tril/triu, maskedFill, cumsum, clone,
 * linspace, and the Conv1d and GroupNorm layers, against plain references with PyTorch's semantics and gradients
 * against central differences, on odd shapes. Part of {@link BackendConformance}, so every backend runs it.
 */
interface ReductionsAndSelectionConformance extends SuiteHelpers {
    @Test
    default void varianceStdAndSumsOverSeveralAxes() {
        float[] x = random(3 * 5 * 2, -2, 4);
        Tensor tx = t(x, 3, 5, 2);
        float[] v = tx.var(1, 1, false).toFloatArray();
        float[] v0 = tx.var(1, 0, true).toFloatArray();
        float[] sd = tx.std(-2, 1, false).toFloatArray();
        for (int i = 0; i < 3; i++) {
            for (int k = 0; k < 2; k++) {
                double mean = 0;
                for (int j = 0; j < 5; j++) {
                    mean += x[(i * 5 + j) * 2 + k] / 5.0;
                }
                double ss = 0;
                for (int j = 0; j < 5; j++) {
                    ss += Math.pow(x[(i * 5 + j) * 2 + k] - mean, 2);
                }
                assertEquals(ss / 4, v[i * 2 + k], 1e-4, "var");
                assertEquals(ss / 5, v0[i * 2 + k], 1e-4, "var correction 0");
                assertEquals(Math.sqrt(ss / 4), sd[i * 2 + k], 1e-4, "std");
            }
        }
        assertEquals(Shape.of(3, 1, 2), tx.var(1, 0, true).shape());
        float[] s02 = tx.sum(new int[] {0, -1}, false).toFloatArray();
        for (int j = 0; j < 5; j++) {
            double want = 0;
            for (int i = 0; i < 3; i++) {
                want += x[(i * 5 + j) * 2] + x[(i * 5 + j) * 2 + 1];
            }
            assertEquals(want, s02[j], 1e-4, "sum over axes 0 and 2");
        }
        assertEquals(Shape.of(1, 5, 1), tx.sum(new int[] {2, 0}, true).shape());
        gradCheck("var", in -> in[0].var(1, 1, false), t(x, 3, 5, 2));
        gradCheck("sum axes", in -> in[0].sum(new int[] {0, 2}, true), t(x, 3, 5, 2));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> tx.sum(new int[] {1, -2}, false));
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
    }

    @Test
    default void selectFlipTrianglesMaskedFillCumsumCloneLinspace() {
        float[] x = random(2 * 3 * 4, -3, 3);
        Tensor tx = t(x, 2, 3, 4);
        float[] sel = tx.select(1, -1).toFloatArray();
        float[] flip = tx.flip(2).toFloatArray();
        float[] lower = tx.tril(0).toFloatArray();
        float[] upper = tx.triu(1).toFloatArray();
        float[] cum = tx.cumsum(1).toFloatArray();
        for (int b = 0; b < 2; b++) {
            for (int i = 0; i < 3; i++) {
                double run = 0;
                for (int j = 0; j < 4; j++) {
                    int at = (b * 3 + i) * 4 + j;
                    if (i == 2) {
                        assertEquals(x[at], sel[b * 4 + j], "select");
                    }
                    assertEquals(x[(b * 3 + i) * 4 + 3 - j], flip[at], "flip");
                    assertEquals(j <= i ? x[at] : 0f, lower[at], "tril");
                    assertEquals(j >= i + 1 ? x[at] : 0f, upper[at], "triu(1)");
                    double colRun = 0;
                    for (int r = 0; r <= i; r++) {
                        colRun += x[(b * 3 + r) * 4 + j];
                    }
                    assertEquals(colRun, cum[at], 1e-5, "cumsum along axis 1");
                    run += x[at];
                }
            }
        }
        // tril writes zeros where PyTorch does, a NaN above the diagonal included.
        float[] nan = t(new float[] {1, Float.NaN, 2, 3}, 2, 2).tril(0).toFloatArray();
        assertArrayEquals(new float[] {1, 0, 2, 3}, nan);
        Tensor mask = t(new float[] {1, 0, 0, 1}, 4);
        float[] filled = tx.maskedFill(mask, -9f).toFloatArray();
        for (int i = 0; i < x.length; i++) {
            assertEquals(i % 4 == 0 || i % 4 == 3 ? -9f : x[i], filled[i], "maskedFill");
        }
        assertArrayEquals(x, tx.clone().toFloatArray());
        assertArrayEquals(
                new float[] {-1f, -0.5f, 0f, 0.5f, 1f},
                Tensor.linspace(suiteBackend(), -1, 1, 5).toFloatArray());
        assertArrayEquals(
                new float[] {3f}, Tensor.linspace(suiteBackend(), 3, 7, 1).toFloatArray());
        gradCheck("cumsum", in -> in[0].cumsum(-1), t(random(2 * 5, -1, 1), 2, 5));
        gradCheck("flip", in -> in[0].flip(0), t(random(3 * 2, -1, 1), 3, 2));
        gradCheck("tril", in -> in[0].tril(-1), t(random(3 * 3, -1, 1), 3, 3));
        gradCheck("select", in -> in[0].select(0, 1), t(random(3 * 2, -1, 1), 3, 2));
        gradCheck("maskedFill", in -> in[0].maskedFill(mask, 2f), t(random(4, -1, 1), 4));
        gradCheck("clone", in -> in[0].clone().mul(in[0]), t(random(4, -1, 1), 4));
        assertThrows(IndexOutOfBoundsException.class, () -> tx.select(1, 3));
    }

    @Test
    default void conv1dIsPyTorchsAndGroupNormNormalisesGroups() {
        Backend b = suiteBackend();
        try (Conv1d conv =
                        new Conv1d(b, Conv1d.Config.of(2, 3, 3).withPadding(1).withStride(2), new Rng(3));
                GroupNorm gn = new GroupNorm(b, 2, 4, 1e-5f, true)) {
            float[] x = random(2 * 2 * 7, -1, 1);
            float[] w = conv.weight().toFloatArray();
            float[] bias = conv.namedParameters().get("bias").toFloatArray();
            Tensor y = conv.forward(t(x, 2, 2, 7));
            assertEquals(Shape.of(2, 3, 4), y.shape());
            float[] yv = y.toFloatArray();
            for (int n = 0; n < 2; n++) {
                for (int o = 0; o < 3; o++) {
                    for (int l = 0; l < 4; l++) {
                        double s = bias[o];
                        for (int c = 0; c < 2; c++) {
                            for (int k = 0; k < 3; k++) {
                                int pos = l * 2 - 1 + k;
                                if (pos >= 0 && pos < 7) {
                                    s += w[(o * 2 + c) * 3 + k] * x[(n * 2 + c) * 7 + pos];
                                }
                            }
                        }
                        assertEquals(s, yv[(n * 3 + o) * 4 + l], 1e-5, "conv1d");
                    }
                }
            }
            gradCheck("conv1d", in -> conv.forward(in[0]), t(random(1 * 2 * 5, -1, 1), 1, 2, 5));
            gn.namedParameters().get("weight").copyFrom(t(new float[] {1f, 2f, 0.5f, 1f}, 4));
            gn.namedParameters().get("bias").copyFrom(t(new float[] {0f, 1f, 0f, -1f}, 4));
            float[] g = random(2 * 4 * 3, -2, 5);
            float[] out = gn.forward(t(g, 2, 4, 3)).toFloatArray();
            float[] gw = {1f, 2f, 0.5f, 1f};
            float[] gb = {0f, 1f, 0f, -1f};
            for (int n = 0; n < 2; n++) {
                for (int grp = 0; grp < 2; grp++) {
                    double mean = 0;
                    for (int i = 0; i < 6; i++) {
                        mean += g[n * 12 + grp * 6 + i] / 6.0;
                    }
                    double var = 0;
                    for (int i = 0; i < 6; i++) {
                        var += Math.pow(g[n * 12 + grp * 6 + i] - mean, 2) / 6.0;
                    }
                    for (int i = 0; i < 6; i++) {
                        int c = grp * 2 + i / 3;
                        double want = (g[n * 12 + grp * 6 + i] - mean) / Math.sqrt(var + 1e-5) * gw[c] + gb[c];
                        assertEquals(want, out[n * 12 + grp * 6 + i], 1e-4, "GroupNorm");
                    }
                }
            }
            gradCheck("groupNorm", in -> gn.forward(in[0]).mul(in[0]), t(random(2 * 4 * 3, -1, 1), 2, 4, 3));
        }
    }
}
