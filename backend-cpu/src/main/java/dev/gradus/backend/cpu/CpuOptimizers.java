package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;
import static dev.gradus.backend.cpu.Scratch.TILE;

import dev.gradus.spi.AdamStep;
import dev.gradus.spi.Operand;
import dev.gradus.spi.SgdStep;
import java.nio.FloatBuffer;

/** The fused optimizer steps (Adam, SGD with momentum) over dense parameters, tile by tile. */
final class CpuOptimizers {
    private final Parallel parallel;

    CpuOptimizers(Parallel parallel) {
        this.parallel = parallel;
    }

    void adamStep(Operand param, Operand grad, Operand m, Operand v, AdamStep h) {
        int n = Operand.requireDenseSameSize("adamStep", param, grad, m, v);
        FloatBuffer p = plain(param.storage()).f;
        FloatBuffer g = plain(grad.storage()).f;
        FloatBuffer fm = plain(m.storage()).f;
        FloatBuffer fv = plain(v.storage()).f;
        float stepSize = h.stepSize();
        float invSqrtBc2 = h.invSqrtBiasCorrection2();
        float decay = h.weightFactor();
        float l2 = h.l2();
        parallel.forRange(n, 8, (from, to) -> {
            Scratch sc = Scratch.get();
            for (int t = from; t < to; t += TILE) {
                int k = Math.min(TILE, to - t);
                p.get(t, sc.a, 0, k);
                g.get(t, sc.b, 0, k);
                fm.get(t, sc.c, 0, k);
                fv.get(t, sc.d, 0, k);
                Kernels.adam(sc.a, sc.b, sc.c, sc.d, k, decay, l2, h.beta1(), h.beta2(), stepSize, invSqrtBc2, h.eps());
                p.put(t, sc.a, 0, k);
                fm.put(t, sc.c, 0, k);
                fv.put(t, sc.d, 0, k);
            }
        });
    }

    void sgdStep(Operand param, Operand grad, Operand momentumBuf, SgdStep h) {
        int n = Operand.requireDenseSameSize("sgdStep", param, grad, momentumBuf);
        FloatBuffer p = plain(param.storage()).f;
        FloatBuffer g = plain(grad.storage()).f;
        FloatBuffer buf = momentumBuf == null ? null : plain(momentumBuf.storage()).f;
        float lr = h.lr();
        float mu = h.momentum();
        float damp = 1f - h.dampening();
        float wd = h.weightDecay();
        boolean first = h.firstStep();
        boolean nesterov = h.nesterov();
        parallel.forRange(n, 6, (from, to) -> {
            Scratch sc = Scratch.get();
            float[] pa = sc.a;
            float[] ga = sc.b;
            float[] ba = sc.c;
            for (int t = from; t < to; t += TILE) {
                int k = Math.min(TILE, to - t);
                p.get(t, pa, 0, k);
                g.get(t, ga, 0, k);
                if (buf != null) {
                    buf.get(t, ba, 0, k);
                }
                for (int i = 0; i < k; i++) {
                    float gi = ga[i] + wd * pa[i];
                    if (buf != null) {
                        float bi = first ? gi : mu * ba[i] + damp * gi;
                        ba[i] = bi;
                        gi = nesterov ? gi + mu * bi : bi;
                    }
                    pa[i] -= lr * gi;
                }
                p.put(t, pa, 0, k);
                if (buf != null) {
                    buf.put(t, ba, 0, k);
                }
            }
        });
    }
}
