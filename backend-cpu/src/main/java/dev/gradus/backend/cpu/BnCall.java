package dev.gradus.backend.cpu;

import dev.gradus.backend.cpu.CpuStorage.Plain;

/**
 * One batch-norm call as the CPU kernels see it: the input's {@code [n, c, hw]} view and the per-channel storages
 * of {@link dev.gradus.spi.BatchNormArgs} (null for none).
 */
record BnCall(
        int n,
        int c,
        int hw,
        Plain gamma,
        Plain beta,
        Plain runningMean,
        Plain runningVar,
        Plain saveMean,
        Plain saveInvStd,
        float eps,
        float momentum) {
    /** Values per channel: {@code n * hw}. */
    long m() {
        return (long) n * hw;
    }

    float gammaAt(int ch) {
        return gamma == null ? 1f : gamma.f.get(ch);
    }

    float betaAt(int ch) {
        return beta == null ? 0f : beta.f.get(ch);
    }

    /**
     * Records channel {@code ch}'s batch statistics for the backward pass and, when given, moves the running
     * statistics towards them (PyTorch: the running variance is the unbiased one), for every batch-norm kernel.
     */
    void save(int ch, double mean, double var, float invStd) {
        saveMean.f.put(ch, (float) mean);
        saveInvStd.f.put(ch, invStd);
        if (runningMean != null) {
            long m = m();
            double unbiased = m > 1 ? var * m / (m - 1) : var;
            runningMean.f.put(ch, (float) ((1 - momentum) * runningMean.f.get(ch) + momentum * mean));
            runningVar.f.put(ch, (float) ((1 - momentum) * runningVar.f.get(ch) + momentum * unbiased));
        }
    }
}
