package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.DType;
import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Operand;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * oneDNN keeps activations in its blocked layouts from one convolution, ReLU, batch norm and max pool to the next: the whole
 * chain, forward and backward, must give what the plain im2col path gives, including where a Java op or the user
 * reads a blocked activation in between.
 */
class DnnlLayoutTest {
    /** The {@code cnn} example's layer sequence, with {@code bn} the {@code bn-cnn} example's batch norms too. */
    private static Sequential cnn(CpuBackend be, int channels, boolean bn) {
        Rng rng = new Rng(7);
        Sequential m = new Sequential(
                new Conv2d(be, Conv2d.Config.of(channels, 16, 3).withPadding(1), Init.GLOROT, rng), new ReLU());
        if (bn) {
            m.add(new BatchNorm2d(be, BatchNorm.Config.of(16)));
        }
        m.add(new MaxPool2d(2))
                .add(new Conv2d(be, Conv2d.Config.of(16, 32, 3).withPadding(1), Init.GLOROT, rng))
                .add(new ReLU());
        if (bn) {
            m.add(new BatchNorm2d(be, BatchNorm.Config.of(32)));
        }
        m.add(new MaxPool2d(2))
                .add(new Conv2d(be, Conv2d.Config.of(32, 32, 3).withPadding(1), Init.GLOROT, rng))
                .add(new ReLU())
                .add(new MaxPool2d(2))
                .add(new Flatten())
                .add(new Dense(be, 32 * 1 * 1, 8, true, Init.GLOROT, rng))
                .add(new ReLU());
        if (bn) {
            m.add(new BatchNorm1d(be, BatchNorm.Config.of(8)));
        }
        return m.add(new Dense(be, 8, 5, true, Init.GLOROT, rng));
    }

    private record Run(float[] out, float[] hidden, List<float[]> grads, List<float[]> buffers, float[] eval) {}

    private static Run run(CpuBackend be, int n, int channels, int hw, boolean bn) {
        float[] x = new float[n * channels * hw * hw];
        Rng rng = new Rng(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.nextFloat() * 2 - 1;
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 5;
        }
        try (Sequential model = cnn(be, channels, bn);
                Scope s = Scope.open()) {
            Tensor in = Tensor.of(be, x, n, channels, hw, hw);
            Tensor out = model.forward(in);
            // A Java op over a blocked activation in the middle of the chain, and the user reading it.
            Tensor hidden = model.layers().get(0).forward(in).relu();
            float[] h = hidden.mul(2f).toFloatArray();
            out.crossEntropy(Tensor.ofInts(be, y, n)).backward();
            List<float[]> grads = model.parameters().stream()
                    .map(Parameter::grad)
                    .map(Tensor::toFloatArray)
                    .toList();
            List<float[]> buffers = model.namedBuffers().values().stream()
                    .map(Tensor::toFloatArray)
                    .toList();
            // Evaluation mode: batch norm as per-channel arithmetic on the blocked activations.
            model.eval();
            float[] eval;
            try (GradMode ng = GradMode.noGrad()) {
                eval = model.forward(in).toFloatArray();
            }
            return new Run(out.toFloatArray(), h, grads, buffers, eval);
        }
    }

    private static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            float tol = 1e-4f * Math.max(1f, Math.abs(want[i]));
            assertTrue(Math.abs(want[i] - got[i]) <= tol, what + " [" + i + "]: " + want[i] + " vs " + got[i]);
        }
    }

    @Test
    void blockedChainMatchesPlainPathForwardAndBackward() {
        CpuBackend dnnl = CpuBackendProvider.get();
        Assumptions.assumeTrue(dnnl.convolutionPath().startsWith("oneDNN"), dnnl.convolutionPath());
        CpuBackend plain = CpuBackendProvider.im2colBackend();
        // Batch sizes 1 and 3, one and three input channels, 8x8 (pools to 4, 2, 1) and 9x9 (floor mode drops a row).
        // With batch norm, batch size 1 is left out: BatchNorm1d needs more than one value per channel.
        int[][] cases = {{3, 1, 8, 0}, {1, 3, 9, 0}, {3, 3, 8, 0}, {3, 1, 8, 1}, {2, 3, 9, 1}};
        for (int[] c : cases) {
            long poolCalls = dnnl.dnnlPoolCalls();
            boolean bn = c[3] == 1;
            Run want = run(plain, c[0], c[1], c[2], bn);
            Run got = run(dnnl, c[0], c[1], c[2], bn);
            String what = "n=" + c[0] + " c=" + c[1] + " hw=" + c[2] + (bn ? " with batch norm" : "");
            for (int i = 0; i < want.buffers.size(); i++) {
                assertClose(want.buffers.get(i), got.buffers.get(i), what + " buffer " + i);
            }
            assertClose(want.out, got.out, what + " logits");
            assertClose(want.eval, got.eval, what + " logits in eval mode");
            assertClose(want.hidden, got.hidden, what + " hidden activation read back");
            for (int i = 0; i < want.grads.size(); i++) {
                assertClose(want.grads.get(i), got.grads.get(i), what + " gradient " + i);
            }
            assertTrue(dnnl.dnnlPoolCalls() > poolCalls, what + ": no pooling ran through oneDNN");
        }
    }

    @Test
    void describeNamesTheConvolutionPathAndThreadSettings() {
        CpuBackend dnnl = CpuBackendProvider.get();
        var d = dnnl.describe();
        assertEquals(dnnl.convolutionPath(), d.get("convolution"));
        assertTrue(d.get("OPENBLAS_THREAD_TIMEOUT") != null, d.toString());
        if (dnnl.convolutionPath().startsWith("oneDNN")) {
            assertTrue(d.get("onednn").matches("\\d+\\.\\d+\\.\\d+"), d.toString());
            if (System.getenv("OMP_NUM_THREADS") == null) { // Gradus's one thread setting reaches OpenMP too
                assertEquals(Integer.toString(dnnl.threads()), d.get("onednn OMP_NUM_THREADS"));
            }
        }
        assertTrue(
                CpuBackendProvider.im2colBackend().describe().get("convolution").startsWith("im2col"));
    }

    private static float[] random(int n, long seed) {
        Rng rng = new Rng(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextFloat() * 2 - 1;
        }
        return v;
    }

    private static float[] read(CpuBackend be, dev.gradus.spi.Storage s, int n) {
        float[] v = new float[n];
        be.read(s, 0, v, 0, n);
        return v;
    }

    /** Runs the three passes of one convolution on {@code be}; returns out, dx, dw, db. */
    private static float[][] passes(CpuBackend be, int[] xs, int[] ws, int[] os, ConvParams p) {
        int nx = xs[0] * xs[1] * xs[2] * xs[3];
        int nw = ws[0] * ws[1] * ws[2] * ws[3];
        int no = os[0] * os[1] * os[2] * os[3];
        var x = be.allocate(DType.FLOAT32, nx);
        var w = be.allocate(DType.FLOAT32, nw);
        var b = be.allocate(DType.FLOAT32, ws[0]);
        var out = be.allocate(DType.FLOAT32, no);
        var dOut = be.allocate(DType.FLOAT32, no);
        var dx = be.allocate(DType.FLOAT32, nx);
        var dw = be.allocate(DType.FLOAT32, nw);
        var db = be.allocate(DType.FLOAT32, ws[0]);
        try {
            be.write(x, 0, random(nx, 1), 0, nx);
            be.write(w, 0, random(nw, 2), 0, nw);
            be.write(b, 0, random(ws[0], 3), 0, ws[0]);
            be.write(dOut, 0, random(no, 4), 0, no);
            be.conv2d(Operand.dense(x, xs), Operand.dense(w, ws), Operand.dense(b, ws[0]), Operand.dense(out, os), p);
            be.conv2dBackwardData(Operand.dense(dOut, os), Operand.dense(w, ws), Operand.dense(dx, xs), p);
            be.conv2dBackwardFilter(
                    Operand.dense(x, xs), Operand.dense(dOut, os), Operand.dense(dw, ws), Operand.dense(db, ws[0]), p);
            return new float[][] {read(be, out, no), read(be, dx, nx), read(be, dw, nw), read(be, db, ws[0])};
        } finally {
            for (var s : List.of(x, w, b, out, dOut, dx, dw, db)) {
                be.free(s);
            }
        }
    }

    @Test
    void oddConvolutionsThroughOneDnnMatchIm2col() {
        CpuBackend dnnl = CpuBackendProvider.get();
        Assumptions.assumeTrue(dnnl.convolutionPath().startsWith("oneDNN"), dnnl.convolutionPath());
        CpuBackend plain = CpuBackendProvider.im2colBackend();
        // n, c, h, w, k, r, s, stride, pad, dilation, groups: odd sizes, strides, padding that floor mode cuts
        // short on the far side, dilation, groups, batch sizes 1 and 3.
        int[][] cases = {
            {3, 16, 9, 7, 24, 3, 2, 2, 1, 1, 1},
            {1, 16, 11, 11, 16, 3, 3, 1, 2, 2, 1},
            {3, 32, 8, 9, 32, 3, 3, 1, 1, 1, 2},
            {2, 8, 15, 13, 16, 5, 5, 3, 2, 1, 1},
            {3, 3, 10, 10, 16, 3, 3, 1, 1, 1, 1},
        };
        String[] names = {"out", "dx", "dw", "db"};
        int plansBefore = dnnl.dnnlConvPlans();
        for (int[] c : cases) {
            ConvParams p = new ConvParams(c[7], c[7], c[8], c[8], c[9], c[9], c[10]);
            int[] xs = {c[0], c[1], c[2], c[3]};
            int[] ws = {c[4], c[1] / c[10], c[5], c[6]};
            int[] os = {c[0], c[4], p.outH(c[2], c[5]), p.outW(c[3], c[6])};
            float[][] want = passes(plain, xs, ws, os, p);
            float[][] got = passes(dnnl, xs, ws, os, p);
            for (int i = 0; i < want.length; i++) {
                assertClose(want[i], got[i], "conv " + Arrays.toString(c) + " " + names[i]);
            }
        }
        assertTrue(
                dnnl.dnnlConvPlans() >= plansBefore + 3 * 3,
                "most cases should run through oneDNN: " + (dnnl.dnnlConvPlans() - plansBefore) + " primitives made");
    }
}
