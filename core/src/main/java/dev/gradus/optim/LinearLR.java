package dev.gradus.optim;

/**
 * Linear warmup (or decay): the base rate times a factor going from {@code startFactor} to {@code endFactor} over
 * {@code totalIters} epochs, then staying there, as {@code torch.optim.lr_scheduler.LinearLR}.
 *
 * <p>{@code new LinearLR(opt, 0.1f, 1f, 5)}: a tenth of the rate at first, the full rate from epoch 5.
 */
public final class LinearLR extends LRScheduler {
    private final float startFactor;
    private final float endFactor;
    private final int totalIters;

    /** A schedule over {@code opt} from its current rate. */
    public LinearLR(Optimizer opt, float startFactor, float endFactor, int totalIters) {
        super(opt);
        if (!(startFactor > 0 && startFactor <= 1) || !(endFactor >= 0 && endFactor <= 1) || totalIters < 1) {
            throw new IllegalArgumentException("LinearLR: factors must be in (0, 1] and [0, 1] and totalIters >= 1,"
                    + " got " + startFactor + ", " + endFactor + ", " + totalIters);
        }
        this.startFactor = startFactor;
        this.endFactor = endFactor;
        this.totalIters = totalIters;
        opt.setLr(base * startFactor);
    }

    @Override
    public double lrAt(int t) {
        double f = startFactor + (endFactor - startFactor) * Math.min(t, totalIters) / (double) totalIters;
        return base * f;
    }
}
