package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaOperands.addr;

import dev.gradus.backend.cuda.CudaLauncher.L;
import dev.gradus.spi.AdamStep;
import dev.gradus.spi.Operand;
import dev.gradus.spi.SgdStep;

/** Optimizer steps (Adam, SGD with momentum) as one kernel per parameter. */
final class CudaOptimizers {
    private final CudaLauncher launcher;

    CudaOptimizers(CudaLauncher launcher) {
        this.launcher = launcher;
    }

    void adamStep(Operand param, Operand grad, Operand m, Operand v, AdamStep h) {
        int n = Operand.requireDenseSameSize("adamStep", param, grad, m, v);
        launcher.launchOver(
                "gradus_adam_step",
                n,
                new L(addr(param)),
                new L(addr(grad)),
                new L(addr(m)),
                new L(addr(v)),
                new L(n),
                h.weightFactor(),
                h.l2(),
                h.beta1(),
                h.beta2(),
                h.stepSize(),
                h.invSqrtBiasCorrection2(),
                h.eps());
    }

    void sgdStep(Operand param, Operand grad, Operand momentumBuf, SgdStep h) {
        int n = Operand.requireDenseSameSize("sgdStep", param, grad, momentumBuf);
        launcher.launchOver(
                "gradus_sgd_step",
                n,
                new L(addr(param)),
                new L(addr(grad)),
                new L(addr(momentumBuf)),
                new L(n),
                h.lr(),
                momentumBuf == null ? 0f : h.momentum(),
                h.dampening(),
                h.weightDecay(),
                h.nesterov() ? 1 : 0,
                h.firstStep() ? 1 : 0);
    }
}
