package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.BROADCAST_CASES;
import static dev.gradus.conformance.BackendConformance.assertClose;

import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The core ops' gradients against central finite differences: the elementwise ops, the binary ops on every
 * broadcasting case, matmul (transposed, batched, broadcast, vectors), reductions and views, softmax and
 * cross-entropy, and a Dense layer's weight and bias gradients against a hand-written reference. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface GradientConformance extends SuiteHelpers {
    @Test
    default void elementwiseGradients() {
        gradCheck("neg", a -> a[0].neg(), rand(-1, 1, 3, 4));
        gradCheck("exp", a -> a[0].exp(), rand(-1, 1, 3, 4));
        gradCheck("log", a -> a[0].log(), rand(0.5f, 2, 3, 4));
        gradCheck("sqrt", a -> a[0].sqrt(), rand(0.5f, 2, 5));
        gradCheck("pow", a -> a[0].pow(3f), rand(0.5f, 2, 5));
        gradCheck("sigmoid", a -> a[0].sigmoid(), rand(-3, 3, 2, 7));
        gradCheck("tanh", a -> a[0].tanh(), rand(-2, 2, 2, 7));
        gradCheck("erf", a -> a[0].erf(), rand(-2, 2, 2, 7));
        gradCheck("sin", a -> a[0].sin(), rand(-4, 4, 3, 5));
        gradCheck("cos", a -> a[0].cos(), rand(-4, 4, 3, 5));
        gradCheck("gelu", a -> a[0].gelu(), rand(-3, 3, 3, 5));
        gradCheck("relu", a -> a[0].relu(), t(new float[] {-2f, -0.5f, 0.4f, 1.5f, 3f, -1.2f}, 2, 3));
        gradCheck("abs", a -> a[0].abs(), t(new float[] {-2f, -0.5f, 0.4f, 1.5f}, 4));
        gradCheck("scalar ops", a -> a[0].mul(3f).add(1f).div(2f).sub(0.5f), rand(-1, 1, 3));
    }

    @Test
    default void broadcastingBinaryGradients() {
        for (int[][] c : BROADCAST_CASES) {
            String s = Arrays.toString(c[0]) + " with " + Arrays.toString(c[1]);
            gradCheck("add " + s, a -> a[0].add(a[1]), rand(-1, 1, c[0]), rand(-1, 1, c[1]));
            gradCheck("sub " + s, a -> a[0].sub(a[1]), rand(-1, 1, c[0]), rand(-1, 1, c[1]));
            gradCheck("mul " + s, a -> a[0].mul(a[1]), rand(-1, 1, c[0]), rand(-1, 1, c[1]));
            gradCheck("div " + s, a -> a[0].div(a[1]), rand(-1, 1, c[0]), rand(1, 2, c[1]));
        }
        gradCheck("maximum", a -> a[0].maximum(a[1]), t(new float[] {1, 5, 3}, 3), t(new float[] {2, 4, 6}, 3));
    }

    @Test
    default void matmulGradients() {
        gradCheck("matmul 2d", a -> a[0].matmul(a[1]), rand(-1, 1, 3, 5), rand(-1, 1, 5, 4));
        gradCheck("matmul transposed", a -> a[0].matmul(a[1].t()), rand(-1, 1, 3, 5), rand(-1, 1, 4, 5));
        gradCheck("matmul batched", a -> a[0].matmul(a[1]), rand(-1, 1, 2, 3, 4), rand(-1, 1, 2, 4, 2));
        gradCheck("matmul broadcast batch", a -> a[0].matmul(a[1]), rand(-1, 1, 2, 3, 4), rand(-1, 1, 4, 2));
        gradCheck("matmul vector", a -> a[0].matmul(a[1]), rand(-1, 1, 3, 4), rand(-1, 1, 4));
        gradCheck("matmul batch 1", a -> a[0].matmul(a[1]), rand(-1, 1, 1, 7), rand(-1, 1, 7, 1));
    }

    @Test
    default void reductionAndViewGradients() {
        gradCheck("sum all", a -> a[0].sum(), rand(-1, 1, 3, 4));
        gradCheck("sum axis 0", a -> a[0].sum(0, false), rand(-1, 1, 3, 4, 2));
        gradCheck("sum axis 1 keep", a -> a[0].sum(1, true), rand(-1, 1, 3, 4, 2));
        gradCheck("mean axis -1", a -> a[0].mean(-1, false), rand(-1, 1, 3, 5));
        gradCheck("max axis 1", a -> a[0].max(1, false), t(new float[] {1, 7, 3, 9, 2, 4}, 2, 3));
        gradCheck("reshape", a -> a[0].reshape(6, 2).mul(a[0].reshape(6, 2)), rand(-1, 1, 3, 4));
        gradCheck("transpose", a -> a[0].transpose(0, 2).contiguous(), rand(-1, 1, 2, 3, 4));
        gradCheck("narrow", a -> a[0].narrow(1, 1, 2), rand(-1, 1, 3, 4));
        gradCheck("slice", a -> a[0].slice(1, 3).exp(), rand(-1, 1, 4, 2));
        gradCheck("cat", a -> Tensor.cat(List.of(a[0], a[1]), 1), rand(-1, 1, 2, 3), rand(-1, 1, 2, 2));
        gradCheck("broadcastTo", a -> a[0].broadcastTo(Shape.of(4, 3)), rand(-1, 1, 1, 3));
    }

    @Test
    default void softmaxAndLossGradients() {
        gradCheck("logSoftmax", a -> a[0].logSoftmax(-1), rand(-2, 2, 3, 5));
        gradCheck("softmax", a -> a[0].softmax(-1), rand(-2, 2, 3, 5));
        gradCheck("logSoftmax axis 0", a -> a[0].logSoftmax(0), rand(-2, 2, 4, 3));
        Tensor labels = Tensor.ofInts(suiteBackend(), new int[] {2, 0, 4}, 3);
        gradCheck("crossEntropy labels", a -> a[0].crossEntropy(labels), rand(-2, 2, 3, 5));
        Tensor soft = t(new float[] {0.2f, 0.8f, 0, 0.5f, 0.5f, 0}, 2, 3);
        gradCheck("crossEntropy soft targets", a -> a[0].crossEntropy(soft), rand(-2, 2, 2, 3));
    }

    @Test
    default void denseLayerGradients() {
        Dense d = new Dense(suiteBackend(), 5, 3, true, Init.PYTORCH, new Rng(3));
        Tensor x = rand(-1, 1, 4, 5).requiresGrad(true);
        Tensor w = t(random(12, -1, 1), 4, 3);
        d.forward(x).mul(w).sum().backward();
        float[] dWeight = d.weight().grad().toFloatArray();
        float[] dBias = d.bias().grad().toFloatArray();
        // reference: dW = w^T x, db = sum_rows(w)
        float[] xv = x.toFloatArray();
        float[] wv = w.toFloatArray();
        float[] expW = new float[15];
        float[] expB = new float[3];
        for (int n = 0; n < 4; n++) {
            for (int o = 0; o < 3; o++) {
                expB[o] += wv[n * 3 + o];
                for (int i = 0; i < 5; i++) {
                    expW[o * 5 + i] += wv[n * 3 + o] * xv[n * 5 + i];
                }
            }
        }
        assertClose(expW, dWeight, 1e-5, "dWeight");
        assertClose(expB, dBias, 1e-5, "dBias");
        gradCheck("dense input", a -> d.forward(a[0]), rand(-1, 1, 2, 5));
        d.close();
    }
}
