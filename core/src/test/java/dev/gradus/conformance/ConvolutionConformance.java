package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.assertClose;
import static dev.gradus.conformance.BackendConformance.grads;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.PoolParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * {@code conv2d} against a plain double reference (strides, padding, dilation, groups, with and without bias) and
 * finite differences; the fused conv2d+ReLU and conv2d+ReLU+max pool against the ops one by one, values and
 * gradients, ties included; {@link Sequential}'s rewrites against the layers run one by one; mismatched channels and
 * a too-small input named. Part of {@link BackendConformance}, so every backend runs it.
 */
interface ConvolutionConformance extends SuiteHelpers {
    /** Plain reference convolution in double precision. */
    private static float[] refConv(float[] x, int[] xs, float[] w, int[] ws, float[] b, ConvParams p) {
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
    default void conv2dMatchesReferenceAndFiniteDifferences() {
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
        Tensor zeroW = Tensor.zeros(suiteBackend(), 4, 2, 3, 3);
        Tensor bias = Tensor.of(suiteBackend(), new float[] {-1f, 0f, 0.5f, 2f});
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
    default void sequentialRewritesGiveTheLayerByLayerValuesAndGradients() {
        Rng rng = new Rng(3);
        // Conv2d-ReLU-MaxPool2d (pooled before ReLU) and Conv2d-ReLU (fused), on odd sizes (floor-mode pooling).
        Sequential model = new Sequential(
                new Conv2d(suiteBackend(), Conv2d.Config.of(3, 16, 3).withPadding(1), rng),
                new ReLU(),
                new MaxPool2d(2),
                new Conv2d(suiteBackend(), Conv2d.Config.of(16, 8, 3), rng),
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
        Tensor t = Tensor.of(suiteBackend(), v, 2, 3, 6, 6);
        Tensor dPool = rand(-1, 1, 2, 3, 3, 3);
        Function<Tensor, Tensor> plain = in -> new MaxPool2d(2).forward(new ReLU().forward(in));
        float[][] w2 = outputAndGrads(pool, plain, t, dPool);
        float[][] g2 = outputAndGrads(pool, pool::forward, t, dPool);
        assertClose(w2[0], g2[0], 0, "ReLU-MaxPool2d with ties, output");
        assertClose(w2[1], g2[1], 0, "ReLU-MaxPool2d with ties, gradient");
    }

    @Test
    default void conv2dRejectsMismatchedChannels() {
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
}
