package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Parameter;
import dev.gradus.optim.Adam;
import dev.gradus.optim.Optimizer;
import dev.gradus.optim.SGD;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * SGD (momentum, Nesterov, weight decay) and Adam (L2 and decoupled weight decay) step by step against PyTorch's
 * update rules computed in double, and each optimizer's fused step against its tensor-code step. Part of
 * {@link BackendConformance}, so every backend runs it (the CUDA backend the fused steps' CUDA sources).
 */
interface OptimizerConformance extends SuiteHelpers {
    /** Odd shapes and round ones, an empty one included. */
    int[][] OPTIMIZER_SHAPES = {{1}, {7}, {3, 5}, {2, 3, 5}, {64, 33}, {0, 3}, {128, 64}};

    /**
     * Runs {@code make} fused and unfused side by side on the same parameters and gradients for five steps (the rate
     * changed before the fourth, as a schedule would) and checks that the parameters and the state agree within
     * 1e-6 relative after every step.
     */
    private void fusedAgreesWithTensorCode(String what, Function<Boolean, Function<List<Parameter>, Optimizer>> make) {
        float[][] init = new float[OPTIMIZER_SHAPES.length][];
        for (int k = 0; k < init.length; k++) {
            init[k] = random(Shape.of(OPTIMIZER_SHAPES[k]).numel(), -2f, 2f);
        }
        Parameter[][] params = new Parameter[2][OPTIMIZER_SHAPES.length];
        Optimizer[] opts = new Optimizer[2];
        for (int side = 0; side < 2; side++) {
            for (int k = 0; k < init.length; k++) {
                params[side][k] = new Parameter(t(init[k], OPTIMIZER_SHAPES[k]));
            }
            opts[side] = make.apply(side == 0).apply(List.of(params[side]));
        }
        for (int step = 1; step <= 5; step++) {
            if (step == 4) {
                for (Optimizer o : opts) {
                    o.setLr(o.lr() * 0.5f);
                }
            }
            for (int k = 0; k < init.length; k++) {
                float[] g = random(init[k].length, -1f, 1f);
                for (int side = 0; side < 2; side++) {
                    Parameter p = params[side][k];
                    p.zeroGrad();
                    p.mul(t(g, OPTIMIZER_SHAPES[k])).sum().backward();
                }
            }
            for (Optimizer o : opts) {
                o.step();
            }
            String at = what + ", step " + step;
            for (int k = 0; k < init.length; k++) {
                assertAgree(
                        params[0][k].toFloatArray(),
                        params[1][k].toFloatArray(),
                        at + ", parameter " + Arrays.toString(OPTIMIZER_SHAPES[k]));
            }
            Map<String, Tensor> fused = opts[0].state();
            Map<String, Tensor> tensor = opts[1].state();
            assertEquals(fused.keySet(), tensor.keySet(), at + ": state names");
            for (String name : fused.keySet()) {
                assertAgree(fused.get(name).toFloatArray(), tensor.get(name).toFloatArray(), at + ", state " + name);
            }
        }
        for (int side = 0; side < 2; side++) {
            opts[side].close();
            for (Parameter p : params[side]) {
                p.close();
            }
        }
    }

    private static void assertAgree(float[] fused, float[] tensor, String what) {
        assertEquals(fused.length, tensor.length, what);
        for (int i = 0; i < fused.length; i++) {
            double scale = Math.max(Math.abs(fused[i]), Math.abs(tensor[i]));
            assertTrue(
                    Math.abs(fused[i] - tensor[i]) <= 1e-6 * scale || fused[i] == tensor[i],
                    what + ", element " + i + ": fused " + fused[i] + ", tensor code " + tensor[i]);
        }
    }

    @Test
    default void fusedAdamAndAdamWAgreeWithTheirTensorCode() {
        fusedAgreesWithTensorCode(
                "Adam", f -> ps -> new Adam(ps, Adam.Config.lr(0.01f).withFused(f)));
        fusedAgreesWithTensorCode(
                "Adam, L2 0.1, betas (0.8, 0.99), eps 1e-6",
                f -> ps -> new Adam(
                        ps,
                        Adam.Config.lr(0.02f)
                                .withBetas(0.8f, 0.99f)
                                .withEps(1e-6f)
                                .withWeightDecay(0.1f, false)
                                .withFused(f)));
        fusedAgreesWithTensorCode(
                "AdamW, decay 0.05",
                f -> ps -> new Adam(
                        ps, Adam.Config.lr(0.01f).withWeightDecay(0.05f, true).withFused(f)));
    }

    @Test
    default void fusedSgdAgreesWithItsTensorCode() {
        fusedAgreesWithTensorCode(
                "SGD", f -> ps -> new SGD(ps, SGD.Config.lr(0.1f).withFused(f)));
        fusedAgreesWithTensorCode(
                "SGD, decay 0.01",
                f -> ps ->
                        new SGD(ps, SGD.Config.lr(0.1f).withWeightDecay(0.01f).withFused(f)));
        fusedAgreesWithTensorCode(
                "SGD, momentum 0.9, dampening 0.1, decay 0.01",
                f -> ps -> new SGD(
                        ps,
                        SGD.Config.lr(0.05f)
                                .withMomentum(0.9f, false)
                                .withDampening(0.1f)
                                .withWeightDecay(0.01f)
                                .withFused(f)));
        fusedAgreesWithTensorCode(
                "SGD, Nesterov momentum 0.9, decay 0.01",
                f -> ps -> new SGD(
                        ps,
                        SGD.Config.lr(0.05f)
                                .withMomentum(0.9f, true)
                                .withWeightDecay(0.01f)
                                .withFused(f)));
    }

    @Test
    default void theTensorCodeStepsMatchPytorchSemanticsToo() {
        // One Adam and one Nesterov SGD step from zero state, by hand: the fused kernels are checked against this code.
        Parameter p = new Parameter(t(new float[] {1f, -2f}, 2));
        Adam adam = new Adam(
                List.of(p), Adam.Config.lr(0.01f).withWeightDecay(0.1f, true).withFused(false));
        p.mul(t(new float[] {0.5f, -1f}, 2)).sum().backward();
        adam.step();
        // AdamW's first step: p (1 - lr wd) - lr * g / (|g| + eps)
        float[] pv = p.toFloatArray();
        assertEquals(1.0 * (1 - 0.001) - 0.01, pv[0], 1e-6, "AdamW step 1, element 0");
        assertEquals(-2.0 * (1 - 0.001) + 0.01, pv[1], 1e-6, "AdamW step 1, element 1");
        adam.close();
        p.close();
        Parameter q = new Parameter(t(new float[] {1f, -2f}, 2));
        SGD sgd =
                new SGD(List.of(q), SGD.Config.lr(0.1f).withMomentum(0.9f, true).withFused(false));
        q.mul(t(new float[] {0.5f, -1f}, 2)).sum().backward();
        sgd.step();
        // Nesterov's first step: buf = g, p - lr (g + mu g)
        float[] qv = q.toFloatArray();
        assertEquals(1.0 - 0.1 * 1.9 * 0.5, qv[0], 1e-6, "Nesterov step 1, element 0");
        assertEquals(-2.0 + 0.1 * 1.9, qv[1], 1e-6, "Nesterov step 1, element 1");
        sgd.close();
        q.close();
    }

    @Test
    default void sgdMatchesPytorchSemantics() {
        float[][] grads = {{0.5f, -1f}, {0.25f, 2f}, {-1f, 0.5f}};
        for (boolean nesterov : new boolean[] {false, true}) {
            Parameter p = new Parameter(t(new float[] {1f, -2f}, 2));
            SGD opt = new SGD(
                    List.of(p), SGD.Config.lr(0.1f).withMomentum(0.9f, nesterov).withWeightDecay(0.01f));
            double[] ref = {1, -2};
            double[] buf = new double[2];
            for (int step = 0; step < grads.length; step++) {
                p.zeroGrad();
                p.mul(t(grads[step], 2)).sum().backward();
                opt.step();
                for (int i = 0; i < 2; i++) {
                    double g = grads[step][i] + 0.01 * ref[i];
                    buf[i] = step == 0 ? g : 0.9 * buf[i] + g;
                    g = nesterov ? g + 0.9 * buf[i] : buf[i];
                    ref[i] -= 0.1 * g;
                }
            }
            float[] pv = p.toFloatArray();
            assertEquals(ref[0], pv[0], 1e-6, "sgd nesterov=" + nesterov);
            assertEquals(ref[1], pv[1], 1e-6, "sgd nesterov=" + nesterov);
            opt.close();
            p.close();
        }
    }

    @Test
    default void adamMatchesPytorchSemantics() {
        float[][] grads = {{0.5f, -1f}, {0.25f, 2f}, {-1f, 0.5f}, {0.1f, 0.1f}};
        for (boolean decoupled : new boolean[] {false, true}) {
            Parameter p = new Parameter(t(new float[] {1f, -2f}, 2));
            Adam opt = new Adam(List.of(p), Adam.Config.lr(0.01f).withWeightDecay(0.1f, decoupled));
            double[] ref = {1, -2};
            double[] m = new double[2];
            double[] v = new double[2];
            for (int step = 1; step <= grads.length; step++) {
                p.zeroGrad();
                p.mul(t(grads[step - 1], 2)).sum().backward();
                opt.step();
                for (int i = 0; i < 2; i++) {
                    double g = grads[step - 1][i];
                    if (decoupled) {
                        ref[i] *= 1 - 0.01 * 0.1;
                    } else {
                        g += 0.1 * ref[i];
                    }
                    m[i] = 0.9 * m[i] + 0.1 * g;
                    v[i] = 0.999 * v[i] + 0.001 * g * g;
                    double mhat = m[i] / (1 - Math.pow(0.9, step));
                    double vhat = v[i] / (1 - Math.pow(0.999, step));
                    ref[i] -= 0.01 * mhat / (Math.sqrt(vhat) + 1e-8);
                }
            }
            float[] pv = p.toFloatArray();
            assertEquals(ref[0], pv[0], 1e-5, "adam decoupled=" + decoupled);
            assertEquals(ref[1], pv[1], 1e-5, "adam decoupled=" + decoupled);
            opt.close();
            p.close();
        }
    }
}
