package dev.gradus.optim;

/**
 * Multiplies the learning rate by {@code gamma} every {@code stepSize} epochs, as {@code torch.optim.lr_scheduler.StepLR}.
 *
 * <pre>{@code
 * StepLR sched = new StepLR(opt, 7, 0.1f);
 * for (int epoch = 0; epoch < 10; epoch++) { train(); sched.step(); }
 * }</pre>
 */
public final class StepLR extends LRScheduler {
    private final int stepSize;
    private final float gamma;

    /** A schedule over {@code opt} starting from its current learning rate. */
    public StepLR(Optimizer opt, int stepSize, float gamma) {
        super(opt);
        if (stepSize < 1 || !(gamma > 0)) {
            throw new IllegalArgumentException(
                    "StepLR: step size must be >= 1 and gamma > 0, got " + stepSize + ", " + gamma);
        }
        this.stepSize = stepSize;
        this.gamma = gamma;
    }

    @Override
    public double lrAt(int epoch) {
        return base * Math.pow(gamma, epoch / stepSize);
    }
}
