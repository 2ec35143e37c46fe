package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.deleteScratchDir;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Attention;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.Embedding;
import dev.gradus.nn.GRU;
import dev.gradus.nn.LSTM;
import dev.gradus.nn.LayerNorm;
import dev.gradus.nn.Module;
import dev.gradus.nn.MultiheadAttention;
import dev.gradus.nn.Recurrent;
import dev.gradus.nn.TransformerEncoder;
import dev.gradus.nn.TransformerEncoderLayer;
import dev.gradus.ops.GeluExact;
import dev.gradus.ops.GruCell;
import dev.gradus.ops.LayerNormRows;
import dev.gradus.ops.LstmCell;
import dev.gradus.spi.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The sequence layers (LayerNorm, Embedding, LSTM, GRU, multi-head attention, the transformer encoder) against
 * plain double references over their own weights, tiny cases against values worked out by hand, gradients against
 * central differences, and PyTorch's parameter names through a safetensors round trip. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface SequenceLayersConformance extends SuiteHelpers {
    // ------------------------------------------------------------------ plain references, in double

    /** {@code x [rows, in] W^T + b} with {@code W [out, in]} given row-major from {@code w} at row {@code w0}. */
    private static double[][] linear(double[][] x, float[] w, int w0, int out, float[] b, int b0) {
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[b0 + o];
                for (int i = 0; i < in; i++) {
                    s += x[r][i] * w[(w0 + o) * in + i];
                }
                y[r][o] = s;
            }
        }
        return y;
    }

    private static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    private static float[] p(Module m, String name) {
        return m.namedParameters().get(name).toFloatArray();
    }

    /**
     * One direction of an LSTM ({@code gates} 4) or GRU (3) layer over {@code x [N][T][in]}: the hidden states
     * {@code [N][T][H]}, time reversed when {@code reverse}.
     */
    private static double[][][] recurrentRef(
            Module m, String suffix, double[][][] x, int hidden, boolean lstm, boolean reverse) {
        float[] wih = p(m, "weight_ih" + suffix);
        float[] whh = p(m, "weight_hh" + suffix);
        float[] bih = p(m, "bias_ih" + suffix);
        float[] bhh = p(m, "bias_hh" + suffix);
        int n = x.length;
        int steps = x[0].length;
        int gates = lstm ? 4 : 3;
        double[][][] out = new double[n][steps][hidden];
        for (int b = 0; b < n; b++) {
            double[][] h = new double[1][hidden];
            double[] c = new double[hidden];
            for (int s = 0; s < steps; s++) {
                int t = reverse ? steps - 1 - s : s;
                double[] xi = linear(new double[][] {x[b][t]}, wih, 0, gates * hidden, bih, 0)[0];
                double[] hi = linear(h, whh, 0, gates * hidden, bhh, 0)[0];
                double[] next = new double[hidden];
                for (int j = 0; j < hidden; j++) {
                    if (lstm) {
                        double i = sigmoid(xi[j] + hi[j]);
                        double f = sigmoid(xi[hidden + j] + hi[hidden + j]);
                        double g = Math.tanh(xi[2 * hidden + j] + hi[2 * hidden + j]);
                        double o = sigmoid(xi[3 * hidden + j] + hi[3 * hidden + j]);
                        c[j] = f * c[j] + i * g;
                        next[j] = o * Math.tanh(c[j]);
                    } else {
                        double r = sigmoid(xi[j] + hi[j]);
                        double z = sigmoid(xi[hidden + j] + hi[hidden + j]);
                        double nn = Math.tanh(xi[2 * hidden + j] + r * hi[2 * hidden + j]);
                        next[j] = (1 - z) * nn + z * h[0][j];
                    }
                }
                h[0] = next;
                out[b][t] = next;
            }
        }
        return out;
    }

    private static double[][][] cube(float[] v, int a, int b, int c) {
        double[][][] out = new double[a][b][c];
        for (int i = 0; i < a; i++) {
            for (int j = 0; j < b; j++) {
                for (int k = 0; k < c; k++) {
                    out[i][j][k] = v[(i * b + j) * c + k];
                }
            }
        }
        return out;
    }

    private static void assertCube(double[][][] want, float[] got, double tol, String what) {
        int at = 0;
        for (double[][] a : want) {
            for (double[] b : a) {
                for (double v : b) {
                    assertEquals(v, got[at], tol * Math.max(1, Math.abs(v)), what + " element " + at);
                    at++;
                }
            }
        }
        assertEquals(at, got.length, what + ": size");
    }

    // ------------------------------------------------------------------ tests

    @Test
    default void layerNormMatchesItsFormulaAndGradients() {
        Backend b = suiteBackend();
        try (LayerNorm norm = new LayerNorm(b, LayerNorm.Config.of(5, 7).withEps(1e-3f));
                LayerNorm last = new LayerNorm(b, LayerNorm.Config.of(7))) {
            norm.weight().copyFrom(t(random(35, 0.5f, 1.5f), 5, 7));
            norm.bias().copyFrom(t(random(35, -1, 1), 5, 7));
            float[] x = random(3 * 5 * 7, -3, 5);
            float[] y = norm.forward(t(x, 3, 5, 7)).toFloatArray();
            float[] w = norm.weight().toFloatArray();
            float[] bias = norm.bias().toFloatArray();
            for (int r = 0; r < 3; r++) {
                double mean = 0;
                for (int i = 0; i < 35; i++) {
                    mean += x[r * 35 + i] / 35.0;
                }
                double var = 0;
                for (int i = 0; i < 35; i++) {
                    var += Math.pow(x[r * 35 + i] - mean, 2) / 35.0;
                }
                for (int i = 0; i < 35; i++) {
                    double want = (x[r * 35 + i] - mean) / Math.sqrt(var + 1e-3) * w[i] + bias[i];
                    assertEquals(want, y[r * 35 + i], 1e-4, "LayerNorm row " + r + " element " + i);
                }
            }
            gradCheck("layerNorm", in -> last.forward(in[0]).mul(in[0]), t(random(2 * 3 * 7, -2, 2), 2, 3, 7));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> norm.forward(t(new float[3 * 7], 3, 7)));
            assertTrue(e.getMessage().contains("[..., 5, 7]") && e.getMessage().contains("[3, 7]"), e.getMessage());
        }
    }

    @Test
    default void fusedLayerNormRowsMatchTheReferenceOnOddShapesAndStridedInputs() {
        Backend b = suiteBackend();
        for (int[] shape : new int[][] {{1, 1}, {3, 1}, {1, 64}, {17, 64}, {5, 13}, {0, 4}}) {
            int rows = shape[0];
            int d = shape[1];
            float[] x = random(rows * d, -3, 5);
            // once row-major, once as a transposed view of the same values (copied to row-major by the op)
            Tensor direct = t(x, rows, d);
            Tensor strided = t(transposed(x, rows, d), d, rows).transpose(0, 1);
            for (Tensor in : new Tensor[] {direct, strided}) {
                float[] y = LayerNormRows.normalize(in, 1e-5f).toFloatArray();
                assertEquals(rows * d, y.length, "layerNormRows size for " + Arrays.toString(shape));
                for (int r = 0; r < rows; r++) {
                    double mean = 0;
                    for (int i = 0; i < d; i++) {
                        mean += x[r * d + i] / d;
                    }
                    double var = 0;
                    for (int i = 0; i < d; i++) {
                        var += Math.pow(x[r * d + i] - mean, 2) / d;
                    }
                    for (int i = 0; i < d; i++) {
                        double want = (x[r * d + i] - mean) / Math.sqrt(var + 1e-5);
                        assertEquals(want, y[r * d + i], 1e-4, "layerNormRows " + Arrays.toString(shape) + " at " + r);
                    }
                }
            }
        }
        Tensor scale = t(random(4 * 9, -1, 1), 4, 9);
        gradCheck("layerNormRows", in -> LayerNormRows.normalize(in[0], 1e-3f).mul(scale), t(random(36, -2, 2), 4, 9));
        gradCheck(
                "layerNormRows of a transposed view",
                in -> LayerNormRows.normalize(in[0].transpose(0, 1), 1e-3f).mul(scale),
                t(random(36, -2, 2), 9, 4));
    }

    @Test
    default void fusedExactGeluEqualsTheComposedOneAndItsGradient() {
        for (int[] shape : new int[][] {{1}, {7}, {3, 5}, {2, 17, 128}, {0, 3}, {5000}}) {
            Tensor x = t(random(Shape.of(shape).numel(), -6, 6), shape);
            assertArrayEquals(
                    composedGelu(x).toFloatArray(),
                    GeluExact.GELU.apply(x).toFloatArray(),
                    "gelu " + Arrays.toString(shape) + ": bit for bit the composed form");
            Tensor g = t(random(Shape.of(shape).numel(), -1, 1), shape);
            Tensor a = x.detach().requiresGrad(true);
            Tensor c = x.detach().requiresGrad(true);
            GeluExact.GELU.apply(a).mul(g).sum().backward();
            composedGelu(c).mul(g).sum().backward();
            float[] want = c.grad().toFloatArray();
            float[] got = a.grad().toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-5 + 1e-5 * Math.abs(want[i]), "gelu gradient at " + i);
            }
        }
        Tensor near0 = t(new float[] {0f, 1e-30f, -1e-30f, 1e-3f, -40f, 40f}, 6).requiresGrad(true);
        GeluExact.GELU.apply(near0).sum().backward();
        float[] slope = near0.grad().toFloatArray();
        float[] wantSlope = {0.5f, 0.5f, 0.5f, 0.5f + 2 * 1e-3f * 0.3989423f, 0f, 1f};
        for (int i = 0; i < slope.length; i++) {
            assertEquals(wantSlope[i], slope[i], 1e-6, "gelu slope at " + near0.toFloatArray()[i]);
        }
        gradCheck("gelu", in -> GeluExact.GELU.apply(in[0]), t(random(3 * 7, -3, 3), 3, 7));
        gradCheck(
                "gelu of a transposed view",
                in -> GeluExact.GELU.apply(in[0].transpose(0, 1)),
                t(random(12, -3, 3), 3, 4));
    }

    /** The exact GELU as tensor ops, the reference for the fused one ({@code x.gelu()} is the fused one). */
    private static Tensor composedGelu(Tensor x) {
        return x.mul(0.5f).mul(x.mul((float) (1 / Math.sqrt(2))).erf().add(1f));
    }

    private static float[] transposed(float[] x, int rows, int cols) {
        float[] t = new float[x.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = x[r * cols + c];
            }
        }
        return t;
    }

    @Test
    default void embeddingLooksUpRowsAndLeavesThePaddingRowAlone() {
        Backend b = suiteBackend();
        try (Embedding emb = new Embedding(b, 6, 3, 0, new Rng(5))) {
            float[] w = emb.weight().toFloatArray();
            assertArrayEquals(new float[3], Arrays.copyOf(w, 3), "padding row starts at zero");
            Tensor ids = Tensor.ofInts(b, new int[] {2, 0, 5, 2}, 2, 2);
            Tensor out = emb.forward(ids);
            assertEquals(Shape.of(2, 2, 3), out.shape());
            float[] o = out.toFloatArray();
            int[] flat = {2, 0, 5, 2};
            for (int i = 0; i < 4; i++) {
                for (int k = 0; k < 3; k++) {
                    assertEquals(w[flat[i] * 3 + k], o[i * 3 + k]);
                }
            }
            out.mul(t(random(12, -1, 1), 2, 2, 3)).sum().backward();
            float[] g = emb.weight().grad().toFloatArray();
            for (int k = 0; k < 3; k++) {
                assertEquals(0f, g[k], "no gradient reaches the padding row");
                assertEquals(0f, g[3 + k], "nor an unused row");
            }
            assertTrue(g[6] != 0 && g[15] != 0, "used rows get gradients");
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> emb.forward(Tensor.ofInts(b, new int[] {1, 6}, 2)));
            assertTrue(e.getMessage().contains("id 6 at position 1"), e.getMessage());
        }
    }

    @Test
    default void tinyRecurrencesGiveTheValuesWorkedOutByHand() {
        Backend b = suiteBackend();
        try (LSTM lstm = new LSTM(b, Recurrent.Config.of(1, 1).withBatchFirst(), new Rng(1));
                GRU gru = new GRU(b, Recurrent.Config.of(1, 1), new Rng(1))) {
            lstm.namedParameters().get("weight_ih_l0").copyFrom(t(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 4, 1));
            lstm.namedParameters().get("weight_hh_l0").copyFrom(t(new float[] {0.5f, 0.6f, 0.7f, 0.8f}, 4, 1));
            lstm.namedParameters().get("bias_ih_l0").copyFrom(t(new float[] {0.01f, 0.02f, 0.03f, 0.04f}, 4));
            lstm.namedParameters().get("bias_hh_l0").copyFrom(t(new float[4], 4));
            Recurrent.State s = lstm.forwardWithState(t(new float[] {1f, -2f}, 1, 2, 1), null, null);
            // Python's math module, step by step: i, f, o = sigmoid, g = tanh, c = f c + i g, h = o tanh(c).
            assertArrayEquals(
                    new float[] {0.10124331f, -0.04810665f}, s.output().toFloatArray(), 1e-6f);
            assertEquals(-0.14395512f, s.c().toFloatArray()[0], 1e-6f);
            gru.namedParameters().get("weight_ih_l0").copyFrom(t(new float[] {0.1f, 0.2f, 0.3f}, 3, 1));
            gru.namedParameters().get("weight_hh_l0").copyFrom(t(new float[] {0.5f, 0.6f, 0.7f}, 3, 1));
            gru.namedParameters().get("bias_ih_l0").copyFrom(t(new float[] {0.01f, 0.02f, 0.03f}, 3));
            gru.namedParameters().get("bias_hh_l0").copyFrom(t(new float[] {0.04f, 0.05f, 0.06f}, 3));
            // Time-major [T, N, 1]: r, z = sigmoid, n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h = (1 - z) n + z h.
            assertArrayEquals(
                    new float[] {0.15030130f, -0.18824380f},
                    gru.forward(t(new float[] {1f, -2f}, 2, 1, 1)).toFloatArray(),
                    1e-6f);
        }
    }

    /**
     * A fused step's outputs against the composed step's, and the gradients of its inputs through
     * {@code sum(sum(out[k] * weights[k]))} by both, each to 1e-5.
     */
    private static void assertFusedEqualsComposed(
            Function<Tensor[], Tensor[]> fused,
            Function<Tensor[], Tensor[]> composed,
            Tensor[] weights,
            String[] outputNames,
            String[] gradNames,
            Tensor... in) {
        Tensor[] fusedOut = fused.apply(in);
        weightedSum(fusedOut, weights).backward();
        float[][] fusedGrads = new float[in.length][];
        for (int k = 0; k < in.length; k++) {
            fusedGrads[k] = in[k].grad().toFloatArray();
        }
        for (Tensor x : in) {
            x.zeroGrad();
        }
        Tensor[] composedOut = composed.apply(in);
        for (int k = 0; k < composedOut.length; k++) {
            assertArrayEquals(composedOut[k].toFloatArray(), fusedOut[k].toFloatArray(), 1e-5f, outputNames[k]);
        }
        weightedSum(composedOut, weights).backward();
        for (int k = 0; k < in.length; k++) {
            assertArrayEquals(in[k].grad().toFloatArray(), fusedGrads[k], 1e-5f, gradNames[k]);
        }
    }

    /**
     * A recurrent step's inputs: the gate shares from the input and from the hidden state ([n, gates * hidden] each,
     * uniform in +-gateRange) and the state ([n, hidden], uniform in +-stateRange), all requiring gradients.
     */
    private Tensor[] stepInputs(int n, int gates, int hidden, float gateRange, float stateRange) {
        Tensor[] in = {
            t(random(n * gates * hidden, -gateRange, gateRange), n, gates * hidden),
            t(random(n * gates * hidden, -gateRange, gateRange), n, gates * hidden),
            t(random(n * hidden, -stateRange, stateRange), n, hidden)
        };
        for (Tensor x : in) {
            x.requiresGrad(true);
        }
        return in;
    }

    private static Tensor weightedSum(Tensor[] outs, Tensor[] weights) {
        Tensor sum = outs[0].mul(weights[0]).sum();
        for (int k = 1; k < outs.length; k++) {
            sum = sum.add(outs[k].mul(weights[k]).sum());
        }
        return sum;
    }

    /**
     * The fused LSTM step (one kernel forward, one backward; the CUDA backend runs its own CUDA source) against the
     * same step composed from tensor ops: values, and the gradients of both gate shares and the cell state, on odd
     * sizes; and its gradient against central differences.
     */
    @Test
    default void theFusedLstmStepEqualsTheComposedOne() {
        int n = 3;
        int hidden = 5;
        Tensor[] xgHgC = stepInputs(n, 4, hidden, 3, 2);
        Tensor w = t(random(n * hidden, -1, 1), n, hidden);
        Tensor v = t(random(n * hidden, -1, 1), n, hidden);
        assertFusedEqualsComposed(
                in -> LstmCell.step(in[0], in[1], in[2]),
                in -> {
                    Tensor g = in[0].add(in[1]);
                    Tensor i = g.narrow(1, 0, hidden).sigmoid();
                    Tensor f = g.narrow(1, hidden, hidden).sigmoid();
                    Tensor cell = g.narrow(1, 2 * hidden, hidden).tanh();
                    Tensor o = g.narrow(1, 3 * hidden, hidden).sigmoid();
                    Tensor c2 = f.mul(in[2]).add(i.mul(cell));
                    return new Tensor[] {o.mul(c2.tanh()), c2};
                },
                new Tensor[] {w, v},
                new String[] {"h'", "c'"},
                new String[] {"dxGates", "dhGates", "dc"},
                xgHgC);
        Tensor w2 = t(random(2 * 3, -1, 1), 2, 3);
        Tensor v2 = t(random(2 * 3, -1, 1), 2, 3);
        gradCheck(
                "fused LSTM step",
                in -> {
                    Tensor[] next = LstmCell.step(in[0], in[1], in[2]);
                    return next[0].mul(w2).add(next[1].mul(v2));
                },
                stepInputs(2, 4, 3, 2, 1));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> LstmCell.step(xgHgC[0], xgHgC[1], t(random(n * 4, -1, 1), n, 4)));
        assertTrue(e.getMessage().startsWith("lstmCell: [3, 20] x [3, 20] x [3, 4] x [1]"), e.getMessage());
    }

    /** The fused GRU step against the same step composed from tensor ops; see the LSTM's test above. */
    @Test
    default void theFusedGruStepEqualsTheComposedOne() {
        int n = 3;
        int hidden = 5;
        Tensor[] xgHgH = stepInputs(n, 3, hidden, 3, 2);
        Tensor w = t(random(n * hidden, -1, 1), n, hidden);
        assertFusedEqualsComposed(
                in -> new Tensor[] {GruCell.step(in[0], in[1], in[2])},
                in -> {
                    Tensor r = in[0].narrow(1, 0, hidden)
                            .add(in[1].narrow(1, 0, hidden))
                            .sigmoid();
                    Tensor z = in[0].narrow(1, hidden, hidden)
                            .add(in[1].narrow(1, hidden, hidden))
                            .sigmoid();
                    Tensor cand = in[0].narrow(1, 2 * hidden, hidden)
                            .add(r.mul(in[1].narrow(1, 2 * hidden, hidden)))
                            .tanh();
                    return new Tensor[] {cand.add(z.mul(in[2].sub(cand)))};
                },
                new Tensor[] {w},
                new String[] {"h'"},
                new String[] {"dxGates", "dhGates", "dh"},
                xgHgH);
        Tensor w2 = t(random(2 * 3, -1, 1), 2, 3);
        gradCheck("fused GRU step", in -> GruCell.step(in[0], in[1], in[2]).mul(w2), stepInputs(2, 3, 3, 2, 1));
    }

    /**
     * One direction of an LSTM or GRU layer composed from plain tensor ops over the module's own parameters (one
     * product per step for each share, both biases added per step): the output {@code [N, T, H]}, final h and c.
     */
    private static Tensor[] composedDirection(
            Module m, String suffix, Tensor x, Tensor h, Tensor c, boolean lstm, boolean reverse) {
        Tensor wIh = m.namedParameters().get("weight_ih" + suffix);
        Tensor wHh = m.namedParameters().get("weight_hh" + suffix);
        Tensor bIh = m.namedParameters().get("bias_ih" + suffix);
        Tensor bHh = m.namedParameters().get("bias_hh" + suffix);
        int steps = x.shape().dim(1);
        int hidden = h.shape().dim(1);
        Tensor[] hs = new Tensor[steps];
        for (int s = 0; s < steps; s++) {
            int t = reverse ? steps - 1 - s : s;
            Tensor gi = x.select(1, t).matmul(wIh.t()).add(bIh);
            Tensor gh = h.matmul(wHh.t()).add(bHh);
            if (lstm) {
                Tensor g = gi.add(gh);
                Tensor i = g.narrow(1, 0, hidden).sigmoid();
                Tensor f = g.narrow(1, hidden, hidden).sigmoid();
                Tensor cell = g.narrow(1, 2 * hidden, hidden).tanh();
                Tensor o = g.narrow(1, 3 * hidden, hidden).sigmoid();
                c = f.mul(c).add(i.mul(cell));
                h = o.mul(c.tanh());
            } else {
                Tensor r = gi.narrow(1, 0, hidden).add(gh.narrow(1, 0, hidden)).sigmoid();
                Tensor z = gi.narrow(1, hidden, hidden)
                        .add(gh.narrow(1, hidden, hidden))
                        .sigmoid();
                Tensor cand = gi.narrow(1, 2 * hidden, hidden)
                        .add(r.mul(gh.narrow(1, 2 * hidden, hidden)))
                        .tanh();
                h = cand.add(z.mul(h.sub(cand)));
            }
            hs[t] = h;
        }
        return new Tensor[] {Tensor.stack(List.of(hs), 1), h, c};
    }

    /**
     * The layers' gradients (input, initial states, every weight and bias) against the same recurrence composed
     * from tensor ops step by step: both directions, batch-first and time-major, initial states given and zero,
     * odd sizes. The layers take shortcuts the composition does not (the LSTM's hidden bias joins the input
     * projection, a zero initial state skips the first step's product, time-major internals).
     */
    @Test
    default void recurrentGradientsMatchTheRecurrenceComposedStepByStep() {
        Backend b = suiteBackend();
        int n = 3;
        int steps = 4;
        int in = 5;
        int hidden = 3;
        for (boolean isLstm : new boolean[] {true, false}) {
            for (boolean batchFirst : new boolean[] {true, false}) {
                for (boolean givenStates : new boolean[] {true, false}) {
                    String what = (isLstm ? "LSTM" : "GRU")
                            + (batchFirst ? " batch-first" : " time-major")
                            + (givenStates ? " with h0" : " from zeros");
                    Recurrent.Config cfg = Recurrent.Config.of(in, hidden).withBidirectional();
                    cfg = batchFirst ? cfg.withBatchFirst() : cfg;
                    Recurrent m = isLstm ? new LSTM(b, cfg, new Rng(11)) : new GRU(b, cfg, new Rng(11));
                    Tensor x = t(random(n * steps * in, -1, 1), n, steps, in).requiresGrad(true);
                    Tensor h0 = t(random(2 * n * hidden, -1, 1), 2, n, hidden).requiresGrad(true);
                    Tensor c0 = t(random(2 * n * hidden, -1, 1), 2, n, hidden).requiresGrad(true);
                    Tensor wOut = t(random(n * steps * 2 * hidden, -1, 1), n, steps, 2 * hidden);
                    Tensor wH = t(random(2 * n * hidden, -1, 1), 2, n, hidden);
                    Tensor wC = t(random(2 * n * hidden, -1, 1), 2, n, hidden);
                    Recurrent.State st = m.forwardWithState(
                            batchFirst ? x : x.transpose(0, 1),
                            givenStates ? h0 : null,
                            givenStates && isLstm ? c0 : null);
                    Tensor out = batchFirst ? st.output() : st.output().transpose(0, 1);
                    Tensor loss = out.mul(wOut).sum().add(st.h().mul(wH).sum());
                    if (isLstm) {
                        loss = loss.add(st.c().mul(wC).sum());
                    }
                    loss.backward();
                    List<String> names = new ArrayList<>(m.namedParameters().keySet());
                    List<float[]> got = new ArrayList<>();
                    for (String name : names) {
                        got.add(m.namedParameters().get(name).grad().toFloatArray());
                        m.namedParameters().get(name).zeroGrad();
                    }
                    float[] gotX = x.grad().toFloatArray();
                    float[] gotH0 = givenStates ? h0.grad().toFloatArray() : null;
                    float[] gotC0 = givenStates && isLstm ? c0.grad().toFloatArray() : null;
                    x.zeroGrad();
                    h0.zeroGrad();
                    c0.zeroGrad();
                    Tensor zeros = Tensor.zeros(b, 2, n, hidden);
                    Tensor[] fwd = composedDirection(
                            m,
                            "_l0",
                            x,
                            (givenStates ? h0 : zeros).select(0, 0),
                            (givenStates && isLstm ? c0 : zeros).select(0, 0),
                            isLstm,
                            false);
                    Tensor[] rev = composedDirection(
                            m,
                            "_l0_reverse",
                            x,
                            (givenStates ? h0 : zeros).select(0, 1),
                            (givenStates && isLstm ? c0 : zeros).select(0, 1),
                            isLstm,
                            true);
                    Tensor want = Tensor.cat(List.of(fwd[0], rev[0]), 2);
                    assertArrayEquals(want.toFloatArray(), out.toFloatArray(), 1e-5f, what + " output");
                    Tensor wantLoss = want.mul(wOut)
                            .sum()
                            .add(Tensor.stack(List.of(fwd[1], rev[1]), 0)
                                    .mul(wH)
                                    .sum());
                    if (isLstm) {
                        wantLoss = wantLoss.add(
                                Tensor.stack(List.of(fwd[2], rev[2]), 0).mul(wC).sum());
                    }
                    wantLoss.backward();
                    for (int k = 0; k < names.size(); k++) {
                        assertArrayEquals(
                                m.namedParameters().get(names.get(k)).grad().toFloatArray(),
                                got.get(k),
                                1e-4f,
                                what + " d" + names.get(k));
                    }
                    assertArrayEquals(x.grad().toFloatArray(), gotX, 1e-4f, what + " dx");
                    if (givenStates) {
                        assertArrayEquals(h0.grad().toFloatArray(), gotH0, 1e-4f, what + " dh0");
                    }
                    if (gotC0 != null) {
                        assertArrayEquals(c0.grad().toFloatArray(), gotC0, 1e-4f, what + " dc0");
                    }
                    m.close();
                }
            }
        }
    }

    @Test
    default void stackedBidirectionalRecurrencesMatchTheReference() {
        Backend b = suiteBackend();
        int n = 2;
        int steps = 5;
        int in = 3;
        int hidden = 4;
        for (boolean isLstm : new boolean[] {true, false}) {
            Recurrent.Config cfg = Recurrent.Config.of(in, hidden)
                    .withLayers(2)
                    .withBidirectional()
                    .withBatchFirst();
            Recurrent m = isLstm ? new LSTM(b, cfg, new Rng(7)) : new GRU(b, cfg, new Rng(7));
            float[] x = random(n * steps * in, -1, 1);
            Recurrent.State s = m.forwardWithState(t(x, n, steps, in), null, null);
            double[][][] layer0f = recurrentRef(m, "_l0", cube(x, n, steps, in), hidden, isLstm, false);
            double[][][] layer0b = recurrentRef(m, "_l0_reverse", cube(x, n, steps, in), hidden, isLstm, true);
            double[][][] mid = new double[n][steps][2 * hidden];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < steps; j++) {
                    System.arraycopy(layer0f[i][j], 0, mid[i][j], 0, hidden);
                    System.arraycopy(layer0b[i][j], 0, mid[i][j], hidden, hidden);
                }
            }
            double[][][] l1f = recurrentRef(m, "_l1", mid, hidden, isLstm, false);
            double[][][] l1b = recurrentRef(m, "_l1_reverse", mid, hidden, isLstm, true);
            double[][][] want = new double[n][steps][2 * hidden];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < steps; j++) {
                    System.arraycopy(l1f[i][j], 0, want[i][j], 0, hidden);
                    System.arraycopy(l1b[i][j], 0, want[i][j], hidden, hidden);
                }
            }
            String what = isLstm ? "LSTM" : "GRU";
            assertCube(want, s.output().toFloatArray(), 1e-5, what + " output");
            // h_n: [layers * 2, N, H], layer 1's forward direction at the last step, its reverse at the first.
            float[] hn = s.h().toFloatArray();
            assertEquals(Shape.of(4, n, hidden), s.h().shape());
            for (int k = 0; k < hidden; k++) {
                assertEquals(l1f[1][steps - 1][k], hn[(2 * n + 1) * hidden + k], 1e-5, what + " h_n layer 1 fwd");
                assertEquals(l1b[1][0][k], hn[(3 * n + 1) * hidden + k], 1e-5, what + " h_n layer 1 reverse");
            }
            // Time-major gives the same numbers transposed.
            Recurrent.Config tm = Recurrent.Config.of(in, hidden).withLayers(2).withBidirectional();
            Recurrent m2 = isLstm ? new LSTM(b, tm, new Rng(7)) : new GRU(b, tm, new Rng(7));
            float[] y2 = m2.forward(t(x, n, steps, in).transpose(0, 1))
                    .transpose(0, 1)
                    .toFloatArray();
            assertArrayEquals(s.output().toFloatArray(), y2, 1e-6f, what + " time-major");
            Recurrent small = isLstm
                    ? new LSTM(b, Recurrent.Config.of(2, 3).withBatchFirst(), new Rng(8))
                    : new GRU(b, Recurrent.Config.of(2, 3).withBatchFirst(), new Rng(8));
            gradCheck(
                    what + " backward through time",
                    in2 -> small.forward(in2[0]),
                    t(random(2 * 3 * 2, -1, 1), 2, 3, 2));
            m.close();
            m2.close();
            small.close();
        }
    }

    @Test
    default void attentionMatchesTheReferenceWithMasks() {
        Backend b = suiteBackend();
        int n = 2;
        int l = 3;
        int e = 8;
        int heads = 2;
        MultiheadAttention mha =
                new MultiheadAttention(b, MultiheadAttention.Config.of(e, heads).withBatchFirst(), new Rng(9));
        float[] x = random(n * l * e, -1, 1);
        Tensor causal = Attention.causalMask(b, l, l);
        Tensor padding = t(new float[] {0, 0, 0, 0, 0, 1}, n, l); // image 1 ignores its last key
        float[] y = mha.forward(t(x, n, l, e), t(x, n, l, e), t(x, n, l, e), causal, padding)
                .toFloatArray();
        float[] inW = p(mha, "in_proj_weight");
        float[] inB = p(mha, "in_proj_bias");
        float[] outW = p(mha, "out_proj.weight");
        float[] outB = p(mha, "out_proj.bias");
        int dh = e / heads;
        double[][][] want = new double[n][l][];
        for (int bi = 0; bi < n; bi++) {
            double[][] xs = cube(x, n, l, e)[bi];
            double[][] q = linear(xs, inW, 0, e, inB, 0);
            double[][] k = linear(xs, inW, e, e, inB, e);
            double[][] v = linear(xs, inW, 2 * e, e, inB, 2 * e);
            double[][] joined = new double[l][e];
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < l; i++) {
                    double[] score = new double[l];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < l; j++) {
                        boolean allowed = j <= i && !(bi == 1 && j == l - 1);
                        double s = 0;
                        for (int d = 0; d < dh; d++) {
                            s += q[i][h * dh + d] * k[j][h * dh + d];
                        }
                        score[j] = allowed ? s / Math.sqrt(dh) : Double.NEGATIVE_INFINITY;
                        max = Math.max(max, score[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < l; j++) {
                        score[j] = Math.exp(score[j] - max);
                        sum += score[j];
                    }
                    for (int d = 0; d < dh; d++) {
                        double acc = 0;
                        for (int j = 0; j < l; j++) {
                            acc += score[j] / sum * v[j][h * dh + d];
                        }
                        joined[i][h * dh + d] = acc;
                    }
                }
            }
            want[bi] = linear(joined, outW, 0, e, outB, 0);
        }
        assertCube(want, y, 1e-5, "MultiheadAttention");
        MultiheadAttention small = new MultiheadAttention(b, MultiheadAttention.Config.of(4, 2), new Rng(10));
        gradCheck("MultiheadAttention", in -> small.forward(in[0]), t(random(3 * 2 * 4, -1, 1), 3, 2, 4));
        mha.close();
        small.close();
        IllegalArgumentException bad = assertThrows(
                IllegalArgumentException.class,
                () -> new MultiheadAttention(b, MultiheadAttention.Config.of(6, 4), new Rng(1)));
        assertTrue(bad.getMessage().contains("6") && bad.getMessage().contains("4"), bad.getMessage());
    }

    @Test
    default void encoderLayersComposeAsPyTorchDefinesThem() {
        Backend b = suiteBackend();
        for (boolean normFirst : new boolean[] {true, false}) {
            TransformerEncoderLayer.Config cfg = TransformerEncoderLayer.Config.of(8, 2)
                    .withFeedforward(16)
                    .withActivation("gelu")
                    .withBatchFirst();
            TransformerEncoderLayer layer =
                    new TransformerEncoderLayer(b, normFirst ? cfg.withNormFirst() : cfg, new Rng(11));
            layer.eval(); // no dropout: the block is a function of its children
            Tensor x = t(random(2 * 3 * 8, -1, 1), 2, 3, 8);
            Module attn = layer.children().get("self_attn");
            Module norm1 = layer.children().get("norm1");
            Module norm2 = layer.children().get("norm2");
            Module lin1 = layer.children().get("linear1");
            Module lin2 = layer.children().get("linear2");
            Tensor want;
            if (normFirst) {
                Tensor h = x.add(attn.forward(norm1.forward(x)));
                want = h.add(lin2.forward(lin1.forward(norm2.forward(h)).gelu()));
            } else {
                Tensor h = norm1.forward(x.add(attn.forward(x)));
                want = norm2.forward(h.add(lin2.forward(lin1.forward(h).gelu())));
            }
            assertArrayEquals(want.toFloatArray(), layer.forward(x).toFloatArray(), 1e-5f, "normFirst " + normFirst);
            layer.close();
        }
    }

    @Test
    default void pytorchParameterNamesSurviveASafetensorsRoundTrip() throws Exception {
        Backend b = suiteBackend();
        Path dir = Files.createTempDirectory("gradus-names");
        try {
            TransformerEncoderLayer.Config cfg =
                    TransformerEncoderLayer.Config.of(8, 2).withFeedforward(16).withBatchFirst();
            List<Module> made = List.of(
                    new LSTM(b, Recurrent.Config.of(3, 4).withLayers(2).withBidirectional(), new Rng(1)),
                    new GRU(b, Recurrent.Config.of(3, 4), new Rng(1)),
                    new MultiheadAttention(b, MultiheadAttention.Config.of(8, 2), new Rng(1)),
                    new TransformerEncoder(
                            2,
                            i -> new TransformerEncoderLayer(b, cfg, new Rng(i)),
                            new LayerNorm(b, LayerNorm.Config.of(8))),
                    new Embedding(b, 5, 3, Embedding.NO_PADDING, new Rng(1)),
                    new LayerNorm(b, LayerNorm.Config.of(4)));
            List<List<String>> pytorch = List.of(
                    List.of(
                            "weight_ih_l0",
                            "weight_hh_l0",
                            "bias_ih_l0",
                            "bias_hh_l0",
                            "weight_ih_l0_reverse",
                            "weight_hh_l0_reverse",
                            "bias_ih_l0_reverse",
                            "bias_hh_l0_reverse",
                            "weight_ih_l1",
                            "weight_hh_l1",
                            "bias_ih_l1",
                            "bias_hh_l1",
                            "weight_ih_l1_reverse",
                            "weight_hh_l1_reverse",
                            "bias_ih_l1_reverse",
                            "bias_hh_l1_reverse"),
                    List.of("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                    List.of("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"),
                    layerNames(),
                    List.of("weight"),
                    List.of("weight", "bias"));
            for (int i = 0; i < made.size(); i++) {
                Module m = made.get(i);
                assertEquals(pytorch.get(i), new ArrayList<>(m.namedParameters().keySet()), m.describe());
                Path f = dir.resolve(i + ".safetensors");
                Safetensors.save(m, f);
                Module twin = i == 0
                        ? new LSTM(b, Recurrent.Config.of(3, 4).withLayers(2).withBidirectional(), new Rng(99))
                        : i == 1
                                ? new GRU(b, Recurrent.Config.of(3, 4), new Rng(99))
                                : i == 2
                                        ? new MultiheadAttention(b, MultiheadAttention.Config.of(8, 2), new Rng(99))
                                        : i == 3
                                                ? new TransformerEncoder(
                                                        2,
                                                        k -> new TransformerEncoderLayer(b, cfg, new Rng(50 + k)),
                                                        new LayerNorm(b, LayerNorm.Config.of(8)))
                                                : i == 4
                                                        ? new Embedding(b, 5, 3, Embedding.NO_PADDING, new Rng(99))
                                                        : new LayerNorm(b, LayerNorm.Config.of(4));
                Safetensors.load(twin, f);
                for (String name : m.namedParameters().keySet()) {
                    assertArrayEquals(
                            m.namedParameters().get(name).toFloatArray(),
                            twin.namedParameters().get(name).toFloatArray(),
                            m.describe() + " " + name);
                }
                m.close();
                twin.close();
            }
        } finally {
            deleteScratchDir(dir);
        }
    }

    private static List<String> layerNames() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String p = "layers." + i + ".";
            for (String s : List.of(
                    "self_attn.in_proj_weight",
                    "self_attn.in_proj_bias",
                    "self_attn.out_proj.weight",
                    "self_attn.out_proj.bias",
                    "linear1.weight",
                    "linear1.bias",
                    "linear2.weight",
                    "linear2.bias",
                    "norm1.weight",
                    "norm1.bias",
                    "norm2.weight",
                    "norm2.bias")) {
                names.add(p + s);
            }
        }
        names.add("norm.weight");
        names.add("norm.bias");
        return names;
    }

    @Test
    default void recurrentLayersRefuseASequenceWithoutTimeStepsNamingTheShape() {
        Backend b = suiteBackend();
        try (LSTM lstm = new LSTM(b, Recurrent.Config.of(5, 7), new Rng(1));
                GRU gru = new GRU(b, Recurrent.Config.of(5, 7).withBatchFirst().withBidirectional(), new Rng(1))) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> lstm.forward(t(new float[0], 0, 3, 5)));
            assertEquals(lstm.describe() + ": the input [0, 3, 5] has no time steps", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> gru.forward(t(new float[0], 3, 0, 5)));
            assertEquals(gru.describe() + ": the input [3, 0, 5] has no time steps", e.getMessage());
            // An empty batch is fine, as in PyTorch: [T, 0, H] out.
            assertEquals(
                    Shape.of(4, 0, 7), lstm.forward(t(new float[0], 4, 0, 5)).shape());
        }
    }
}
