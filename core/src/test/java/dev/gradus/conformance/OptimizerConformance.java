package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradus.nn.Parameter;
import dev.gradus.optim.Adam;
import dev.gradus.optim.SGD;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * SGD (momentum, Nesterov, weight decay) and Adam (L2 and decoupled weight decay) step by step against PyTorch's
 * update rules computed in double. Part of {@link BackendConformance}, so every backend runs it.
 */
interface OptimizerConformance extends SuiteHelpers {
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
