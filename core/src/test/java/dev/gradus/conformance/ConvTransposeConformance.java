package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.deleteScratchDir;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.ConvTranspose2d;
import dev.gradus.nn.Init;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
import dev.gradus.spi.ConvParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The transposed convolution ({@link Functional#convTranspose2d}, {@link ConvTranspose2d}) against a plain
 * scatter-style reference in double (each input pixel adds its weighted kernel into the output), on odd and round
 * shapes with strides, padding, output padding, groups and dilation; gradients of input, weight and bias against
 * central differences; PyTorch's parameter names and layouts through a safetensors round trip; and the messages of
 * bad arguments. Part of {@link BackendConformance}, so every backend runs it.
 */
interface ConvTransposeConformance extends SuiteHelpers {
    /** One geometry: {@code x [n, c, h, w]}, {@code weight [c, k/groups, r, s]}, and the settings per axis. */
    record Geometry(
            int n,
            int c,
            int k,
            int h,
            int w,
            int r,
            int s,
            int strideH,
            int strideW,
            int padH,
            int padW,
            int outPadH,
            int outPadW,
            int groups,
            int dilationH,
            int dilationW) {
        ConvParams params() {
            return new ConvParams(strideH, strideW, padH, padW, dilationH, dilationW, groups);
        }

        int outH() {
            return (h - 1) * strideH - 2 * padH + dilationH * (r - 1) + outPadH + 1;
        }

        int outW() {
            return (w - 1) * strideW - 2 * padW + dilationW * (s - 1) + outPadW + 1;
        }

        int[] xShape() {
            return new int[] {n, c, h, w};
        }

        int[] wShape() {
            return new int[] {c, k / groups, r, s};
        }

        ConvTranspose2d.Config config(boolean bias) {
            return new ConvTranspose2d.Config(
                    c, k, r, s, strideH, strideW, padH, padW, outPadH, outPadW, groups, bias, dilationH, dilationW);
        }
    }

    /**
     * The issue's case: N=2, C=3 -> 5, 5x7 input, a 3x2 kernel, stride 2x3, padding 1, output padding 1, with the
     * given groups and dilation.
     */
    private static Geometry issueCase(int c, int k, int groups, int dilation) {
        return new Geometry(2, c, k, 5, 7, 3, 2, 2, 3, 1, 1, 1, 1, groups, dilation, dilation);
    }

    /** The geometries the forward pass is checked on, each named by its settings in the failure message. */
    private static List<Geometry> cases() {
        return List.of(
                issueCase(3, 5, 1, 1),
                issueCase(6, 4, 2, 1), // groups divide both channel counts
                issueCase(3, 6, 3, 1), // one input channel per group
                issueCase(3, 5, 1, 2), // dilation 2
                issueCase(6, 4, 2, 2), // groups and dilation
                // DCGAN's upsampling block: round shapes, 8+ channels (oneDNN's blocked layouts)
                new Geometry(4, 16, 8, 8, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1),
                // stride 1 and "same" padding: the output as wide as the input
                new Geometry(2, 3, 4, 6, 5, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1),
                // output padding beyond the padding: the last rows and columns only get the bias
                new Geometry(1, 2, 3, 4, 3, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 1),
                // output padding of a stride or more (allowed below the dilation)
                new Geometry(2, 2, 3, 3, 4, 2, 3, 1, 2, 0, 1, 1, 2, 1, 2, 3),
                // a 1x1 kernel, stride larger than the kernel: gaps of bias only
                new Geometry(1, 4, 2, 3, 2, 1, 1, 3, 2, 0, 0, 2, 1, 2, 1, 1),
                // padding that crops more than a stride from each border
                new Geometry(1, 2, 2, 6, 6, 5, 5, 1, 2, 3, 2, 0, 1, 1, 1, 1));
    }

    /**
     * The plain reference: {@code out[n, g*Kg + o, i*sh - ph + a*dh, j*sw - pw + b*dw] += x[n, ci, i, j] *
     * w[ci, o, a, b]} for input channel {@code ci} of group {@code g}, positions outside the output dropped, then
     * the bias (null for none) on every pixel of its channel.
     */
    private static double[] reference(Geometry cs, float[] x, float[] w, float[] bias) {
        int oh = cs.outH();
        int ow = cs.outW();
        int kg = cs.k / cs.groups;
        int cg = cs.c / cs.groups;
        double[] out = new double[cs.n * cs.k * oh * ow];
        for (int n = 0; n < cs.n; n++) {
            for (int ci = 0; ci < cs.c; ci++) {
                int g = ci / cg;
                for (int i = 0; i < cs.h; i++) {
                    for (int j = 0; j < cs.w; j++) {
                        double v = x[((n * cs.c + ci) * cs.h + i) * cs.w + j];
                        for (int o = 0; o < kg; o++) {
                            int ko = g * kg + o;
                            for (int a = 0; a < cs.r; a++) {
                                int y = i * cs.strideH - cs.padH + a * cs.dilationH;
                                for (int b = 0; b < cs.s; b++) {
                                    int z = j * cs.strideW - cs.padW + b * cs.dilationW;
                                    if (y >= 0 && y < oh && z >= 0 && z < ow) {
                                        out[((n * cs.k + ko) * oh + y) * ow + z] +=
                                                v * w[((ci * kg + o) * cs.r + a) * cs.s + b];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if (bias != null) {
            for (int i = 0; i < out.length; i++) {
                out[i] += bias[(i / (oh * ow)) % cs.k];
            }
        }
        return out;
    }

    private static void assertNear(double[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": size");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-4 * Math.max(1, Math.abs(want[i])), what + ": element " + i);
        }
    }

    private static float[] values(Map<String, Tensor> params, String name) {
        return params.get(name).toFloatArray();
    }

    // ------------------------------------------------------------------ forward

    @Test
    default void convTranspose2dMatchesTheScatterReference() {
        for (Geometry cs : cases()) {
            float[] x = random(Shape.of(cs.xShape()).numel(), -1f, 1f);
            float[] w = random(Shape.of(cs.wShape()).numel(), -1f, 1f);
            float[] b = random(cs.k, -1f, 1f);
            for (boolean withBias : new boolean[] {true, false}) {
                Tensor y = Functional.convTranspose2d(
                        t(x, cs.xShape()),
                        t(w, cs.wShape()),
                        withBias ? t(b, cs.k) : null,
                        cs.params(),
                        cs.outPadH,
                        cs.outPadW);
                assertArrayEquals(
                        new int[] {cs.n, cs.k, cs.outH(), cs.outW()}, y.shape().dims(), cs.toString());
                assertNear(reference(cs, x, w, withBias ? b : null), y.toFloatArray(), cs + " bias " + withBias);
            }
        }
    }

    @Test
    default void convTranspose2dLayerUsesItsOwnWeightsAndPredictsItsShape() {
        Backend be = suiteBackend();
        for (Geometry cs : cases()) {
            ConvTranspose2d layer = new ConvTranspose2d(be, cs.config(true), new Rng(31L * cs.c + cs.k));
            Map<String, Tensor> params = new LinkedHashMap<>(layer.namedParameters());
            assertEquals(List.of("weight", "bias"), new ArrayList<>(params.keySet()), layer.describe());
            assertArrayEquals(cs.wShape(), params.get("weight").shape().dims(), layer.describe());
            assertArrayEquals(new int[] {cs.k}, params.get("bias").shape().dims(), layer.describe());
            float[] x = random(Shape.of(cs.xShape()).numel(), -1f, 1f);
            Tensor y = layer.forward(t(x, cs.xShape()));
            assertEquals(layer.outputShape(Shape.of(cs.xShape())), y.shape(), layer.describe());
            assertNear(
                    reference(cs, x, values(params, "weight"), values(params, "bias")),
                    y.toFloatArray(),
                    layer.describe());
            layer.close();
        }
    }

    @Test
    default void convTranspose2dInitialisesAsPyTorchFromTheWeightsFans() {
        // PyTorch reads the fan in off weight.size(1): out/groups * kH * kW, so bound 1/sqrt(2 * 3 * 2) here.
        ConvTranspose2d layer = new ConvTranspose2d(
                suiteBackend(), ConvTranspose2d.Config.of(6, 4, 3, 2).withGroups(2), new Rng(3));
        double bound = 1 / Math.sqrt(2 * 3 * 2);
        // 72 weights: their largest reaches past Conv2d's bound 1/sqrt(3 * 3 * 2) = 0.82 of this one
        double w = maxAbs(layer.weight());
        assertTrue(w <= bound && w > 0.9 * bound, "max |weight| " + w + " against bound " + bound);
        assertTrue(maxAbs(layer.bias()) <= bound, "max |bias| " + maxAbs(layer.bias()) + " against " + bound);
        layer.close();
        ConvTranspose2d glorot =
                new ConvTranspose2d(suiteBackend(), ConvTranspose2d.Config.of(2, 3, 2), Init.GLOROT, new Rng(3));
        assertArrayEquals(new float[3], glorot.bias().toFloatArray());
        glorot.close();
    }

    private static double maxAbs(Tensor t) {
        double max = 0;
        for (float v : t.toFloatArray()) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }

    @Test
    default void convTranspose2dIsTheDataGradientOfConv2d() {
        // <conv2d(z, w), x> = <z, convTranspose2d(x, w)> for every z: the two are adjoint, whatever the geometry.
        for (Geometry cs : cases()) {
            if (cs.outPadH >= cs.strideH || cs.outPadW >= cs.strideW) {
                continue; // the convolution of the output is larger than x: the identity needs x padded
            }
            int[] ys = {cs.n, cs.k, cs.outH(), cs.outW()};
            Tensor z = t(random(Shape.of(ys).numel(), -1f, 1f), ys).requiresGrad(true);
            Tensor w = t(random(Shape.of(cs.wShape()).numel(), -1f, 1f), cs.wShape());
            Tensor x = t(random(Shape.of(cs.xShape()).numel(), -1f, 1f), cs.xShape());
            Tensor conv = Functional.conv2d(z, w, null, cs.params());
            assertArrayEquals(cs.xShape(), conv.shape().dims(), cs.toString());
            conv.mul(x).sum().backward();
            assertNear(
                    toDouble(Functional.convTranspose2d(x, w, null, cs.params(), cs.outPadH, cs.outPadW)
                            .toFloatArray()),
                    z.grad().toFloatArray(),
                    cs.toString());
        }
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    // ------------------------------------------------------------------ gradients

    @Test
    default void convTranspose2dGradientsMatchFiniteDifferences() {
        List<Geometry> small = List.of(
                new Geometry(2, 3, 5, 3, 4, 3, 2, 2, 3, 1, 1, 1, 1, 1, 1, 1), // the issue's settings, smaller
                new Geometry(1, 4, 2, 3, 3, 2, 3, 2, 1, 1, 0, 1, 0, 2, 2, 1), // groups 2, dilation 2x1
                new Geometry(1, 2, 3, 3, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 2, 2), // output padding a stride or more
                new Geometry(2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1)); // stride 1, "same"
        for (Geometry cs : small) {
            Tensor x = t(random(Shape.of(cs.xShape()).numel(), -1f, 1f), cs.xShape());
            Tensor w = t(random(Shape.of(cs.wShape()).numel(), -1f, 1f), cs.wShape());
            Tensor b = t(random(cs.k, -1f, 1f), cs.k);
            gradCheck(
                    "convTranspose2d " + cs,
                    in -> Functional.convTranspose2d(in[0], in[1], in[2], cs.params(), cs.outPadH, cs.outPadW),
                    x,
                    w,
                    b);
        }
    }

    @Test
    default void convTranspose2dGradientsOfTheLayerReachItsParameters() {
        Backend be = suiteBackend();
        Geometry cs = issueCase(6, 4, 2, 2);
        ConvTranspose2d layer = new ConvTranspose2d(be, cs.config(true), new Rng(5));
        Tensor x =
                t(random(Shape.of(cs.xShape()).numel(), -1f, 1f), cs.xShape()).requiresGrad(true);
        Tensor y = layer.forward(x);
        float[] g = random(y.numel(), -1f, 1f);
        y.mul(t(g, y.shape().dims())).sum().backward();
        // the bias's gradient sums the output's over batch and pixels; the weight's and input's have their shapes
        int plane = cs.outH() * cs.outW();
        float[] wantBias = new float[cs.k];
        for (int i = 0; i < g.length; i++) {
            wantBias[(i / plane) % cs.k] += g[i];
        }
        assertArrayEquals(wantBias, layer.bias().grad().toFloatArray(), 1e-4f);
        assertArrayEquals(cs.wShape(), layer.weight().grad().shape().dims());
        assertArrayEquals(cs.xShape(), x.grad().shape().dims());
        layer.close();
    }

    @Test
    default void convTranspose2dWithoutInputGradientLeavesTheInputAlone() {
        Geometry cs = issueCase(3, 5, 1, 1);
        Tensor x = t(random(Shape.of(cs.xShape()).numel(), -1f, 1f), cs.xShape());
        Tensor w =
                t(random(Shape.of(cs.wShape()).numel(), -1f, 1f), cs.wShape()).requiresGrad(true);
        Functional.convTranspose2d(x, w, null, cs.params(), 1, 1).sum().backward();
        assertNull(x.grad());
        assertArrayEquals(cs.wShape(), w.grad().shape().dims());
    }

    @Test
    default void convTranspose2dLearnsATeachersWeights() {
        // The output is linear in weight and bias: Adam on the squared error must close in on a teacher's layer.
        Backend be = suiteBackend();
        Geometry cs = issueCase(6, 4, 2, 2);
        ConvTranspose2d teacher = new ConvTranspose2d(be, cs.config(true), new Rng(11));
        ConvTranspose2d student = new ConvTranspose2d(be, cs.config(true), new Rng(12));
        Tensor x = t(random(Shape.of(cs.xShape()).numel(), -1f, 1f), cs.xShape());
        Tensor target = teacher.forward(x).detach();
        Adam opt = new Adam(student.parameters(), Adam.Config.lr(0.02f));
        float first = 0;
        float last = 0;
        for (int step = 0; step < 150; step++) {
            try (Scope s = Scope.open()) {
                opt.zeroGrad();
                Tensor loss = Functional.mseLoss(student.forward(x), target);
                loss.backward();
                opt.step();
                last = loss.item();
                first = step == 0 ? last : first;
            }
        }
        assertTrue(last < 1e-4 * first, "mse from " + first + " to " + last + " in 150 Adam steps");
        opt.close();
        teacher.close();
        student.close();
    }

    // ------------------------------------------------------------------ model files

    @Test
    default void convTranspose2dLoadsAndSavesPyTorchsStateDict() throws Exception {
        Backend be = suiteBackend();
        Geometry cs = issueCase(6, 4, 2, 2);
        Path dir = Files.createTempDirectory("gradus-convt");
        try {
            // A file as PyTorch's safetensors.torch.save_file(m.state_dict()) writes it: weight [in, out/groups,
            // kH, kW], bias [out].
            float[] w = random(Shape.of(cs.wShape()).numel(), -1f, 1f);
            float[] b = random(cs.k, -1f, 1f);
            Map<String, Tensor> stateDict = new LinkedHashMap<>();
            stateDict.put("weight", t(w, cs.wShape()));
            stateDict.put("bias", t(b, cs.k));
            Path torchFile = dir.resolve("torch.safetensors");
            Safetensors.write(torchFile, stateDict, Map.of("format", "pt"));
            ConvTranspose2d layer = new ConvTranspose2d(be, cs.config(true), new Rng(1));
            Safetensors.LoadReport report = Safetensors.load(layer, torchFile, true);
            assertEquals(List.of(), report.missing());
            assertEquals(List.of(), report.unexpected());
            float[] x = random(Shape.of(cs.xShape()).numel(), -1f, 1f);
            assertNear(reference(cs, x, w, b), layer.forward(t(x, cs.xShape())).toFloatArray(), "loaded");
            // and back: a Sequential's names and shapes as PyTorch's nn.Sequential(nn.ConvTranspose2d(...)) has them
            Sequential model = new Sequential(layer);
            Path ours = dir.resolve("ours.safetensors");
            Safetensors.save(model, ours);
            Safetensors.Contents contents = Safetensors.read(ours);
            assertEquals(
                    List.of("0.weight", "0.bias"),
                    List.copyOf(contents.tensors().keySet()));
            assertArrayEquals(cs.wShape(), contents.tensors().get("0.weight").shape());
            assertArrayEquals(new int[] {cs.k}, contents.tensors().get("0.bias").shape());
            assertArrayEquals(w, contents.tensors().get("0.weight").values());
            assertArrayEquals(b, contents.tensors().get("0.bias").values());
            // a layer with other channels refuses the file by name and shape
            ConvTranspose2d other =
                    new ConvTranspose2d(be, issueCase(6, 6, 2, 2).config(true), new Rng(1));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Safetensors.load(other, torchFile));
            assertContains(e.getMessage(), "'weight' has shape [6, 2, 3, 2] in the file, [6, 3, 3, 2] in the model");
            model.close();
            other.close();
        } finally {
            deleteScratchDir(dir);
        }
    }

    // ------------------------------------------------------------------ bad arguments

    private static void assertContains(String message, String part) {
        if (message == null || !message.contains(part)) {
            throw new AssertionError("expected a message containing \"" + part + "\", got: " + message);
        }
    }

    private static void assertRefused(String part, Runnable call) {
        assertRefused(part, part, call);
    }

    /** {@code call} throws an IllegalArgumentException of one line containing both parts. */
    private static void assertRefused(String part, String alsoPart, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertContains(e.getMessage(), part);
        assertContains(e.getMessage(), alsoPart);
        assertEquals(-1, e.getMessage().indexOf('\n'), "one line: " + e.getMessage());
    }

    @Test
    default void convTranspose2dRefusesBadArgumentsByName() {
        ConvParams stride2 = new ConvParams(2, 2, 0, 0, 1, 1, 1);
        Tensor x = t(random(2 * 3 * 5 * 7, -1f, 1f), 2, 3, 5, 7);
        Tensor w = t(random(3 * 5 * 3 * 2, -1f, 1f), 3, 5, 3, 2);
        assertRefused(
                "convTranspose2d: input [2, 3, 5, 7] has 3 channels but weight [4, 5, 3, 2] expects 4",
                () -> Functional.convTranspose2d(x, t(new float[4 * 5 * 3 * 2], 4, 5, 3, 2), null, stride2));
        assertRefused(
                "convTranspose2d: groups=2 must divide the input's 3 channels (input [2, 3, 5, 7])",
                () -> Functional.convTranspose2d(x, w, null, new ConvParams(1, 1, 0, 0, 1, 1, 2)));
        assertRefused(
                "convTranspose2d: bias [4] must be [5]",
                () -> Functional.convTranspose2d(x, w, t(new float[4], 4), stride2));
        assertRefused(
                "convTranspose2d: output padding 2x0 must be >= 0 and smaller than either stride 2x2 or dilation 1x1",
                () -> Functional.convTranspose2d(x, w, null, stride2, 2, 0));
        assertRefused(
                "convTranspose2d: output padding 0x-1", () -> Functional.convTranspose2d(x, w, null, stride2, 0, -1));
        assertRefused(
                "convTranspose2d: input [2, 3, 5, 7] and weight [5] must both be 4-D",
                () -> Functional.convTranspose2d(x, t(new float[5], 5), null, stride2));
        assertRefused(
                "give an output of -3x-3, empty",
                () -> Functional.convTranspose2d(
                        t(new float[3], 1, 3, 1, 1),
                        w.narrow(2, 0, 1).narrow(3, 0, 1),
                        null,
                        new ConvParams(1, 1, 2, 2, 1, 1, 1)));
        assertRefused(
                "ConvTranspose2d: output padding 2x2 must be >= 0 and smaller than either stride 2x2 or dilation 1x1",
                () -> ConvTranspose2d.Config.of(3, 5, 3).withStride(2).withOutputPadding(2));
        assertRefused(
                "ConvTranspose2d: groups 2 must divide both channel counts 3 and 4",
                () -> ConvTranspose2d.Config.of(3, 4, 3).withGroups(2));
        assertRefused(
                "ConvTranspose2d: need stride >= 1, padding >= 0, dilation >= 1, got stride 0x1",
                () -> ConvTranspose2d.Config.of(3, 4, 3).withStride(0, 1));
        assertRefused("ConvTranspose2d: kernel must be >= 1, got 0x3", () -> ConvTranspose2d.Config.of(3, 4, 0, 3));
        ConvTranspose2d layer = new ConvTranspose2d(suiteBackend(), ConvTranspose2d.Config.of(3, 4, 3), new Rng(1));
        assertRefused(
                "ConvTranspose2d(3 -> 4, 3x3): expected input [N, 3, H, W], got [2, 4, 5, 7]",
                () -> layer.forward(t(new float[2 * 4 * 5 * 7], 2, 4, 5, 7)));
        layer.close();
    }

    @Test
    default void convTranspose2dRefusesAnOutputTooLargeByName() {
        // Each plane fits in an int, the four of them do not.
        assertRefused(
                "convTranspose2d: input [4, 1, 2, 2] and weight [1, 1, 2, 2] with ConvParams[strideH=40000,",
                "give an output of [4, 1, 40002, 40002], more than the 2^31-1 elements a tensor may hold",
                () -> Functional.convTranspose2d(
                        t(new float[16], 4, 1, 2, 2),
                        t(new float[4], 1, 1, 2, 2),
                        null,
                        new ConvParams(40000, 40000, 0, 0, 1, 1, 1)));
        // An empty batch with a tall input: the height alone passes 2^31 (and its product with the width
        // wraps around in long arithmetic).
        assertRefused(
                "convTranspose2d: input [0, 1, 2147483647, 1] and weight [1, 1, 2, 3]",
                () -> Functional.convTranspose2d(
                        t(new float[0], 0, 1, Integer.MAX_VALUE, 1),
                        t(new float[6], 1, 1, 2, 3),
                        null,
                        new ConvParams(Integer.MAX_VALUE, 1, 0, 0, 1, 1, 1)));
    }
}
