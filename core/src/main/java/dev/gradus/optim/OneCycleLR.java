package dev.gradus.optim;

/**
 * The one-cycle policy (fastai's {@code fit_one_cycle}, PyTorch's {@code OneCycleLR} with cosine annealing),
 * stepped after every batch: from {@code maxLr / divFactor} up to {@code maxLr} over the first {@code pctStart}
 * of {@code totalSteps}, then down to {@code maxLr / divFactor / finalDivFactor}. The momentum is not cycled.
 *
 * <p>{@code new OneCycleLR(opt, 0.01f, epochs * batchesPerEpoch)} (PyTorch's defaults: 0.3, 25, 1e4).
 */
public final class OneCycleLR extends LRScheduler {
    private final double initial;
    private final double max;
    private final double min;
    private final double upEnd;
    private final double downEnd;

    /** PyTorch's defaults: {@code pctStart} 0.3, {@code divFactor} 25, {@code finalDivFactor} 1e4. */
    public OneCycleLR(Optimizer opt, float maxLr, int totalSteps) {
        this(opt, maxLr, totalSteps, 0.3f, 25f, 1e4f);
    }

    /** A cycle of {@code totalSteps} batches peaking at {@code maxLr}. */
    public OneCycleLR(
            Optimizer opt, float maxLr, int totalSteps, float pctStart, float divFactor, float finalDivFactor) {
        super(opt);
        if (!(maxLr > 0)
                || totalSteps < 2
                || !(pctStart > 0 && pctStart < 1)
                || !(divFactor > 0)
                || !(finalDivFactor > 0)) {
            throw new IllegalArgumentException("OneCycleLR: needs maxLr > 0, totalSteps >= 2, pctStart in (0, 1),"
                    + " positive factors; got " + maxLr + ", " + totalSteps + ", " + pctStart + ", " + divFactor
                    + ", " + finalDivFactor);
        }
        this.max = maxLr;
        this.initial = maxLr / divFactor;
        this.min = initial / finalDivFactor;
        this.upEnd = pctStart * totalSteps - 1;
        this.downEnd = totalSteps - 1;
        opt.setLr((float) initial);
    }

    @Override
    public double lrAt(int t) {
        if (t <= upEnd) {
            return anneal(initial, max, upEnd <= 0 ? 1 : t / upEnd);
        }
        return anneal(max, min, Math.min(1, (t - upEnd) / (downEnd - upEnd)));
    }

    /** Cosine from {@code from} to {@code to} at fraction {@code pct}, as PyTorch's {@code _annealing_cos}. */
    private static double anneal(double from, double to, double pct) {
        return to + (from - to) / 2 * (Math.cos(Math.PI * pct) + 1);
    }

    @Override
    public Unit unit() {
        return Unit.BATCH;
    }
}
