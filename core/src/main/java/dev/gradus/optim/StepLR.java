package dev.gradus.optim;

/**
 * Multiplies the learning rate by {@code gamma} every {@code stepSize} epochs, as {@code torch.optim.lr_scheduler.StepLR}.
 *
 * <pre>{@code
 * StepLR sched = new StepLR(opt, 7, 0.1f);
 * for (int epoch = 0; epoch < 10; epoch++) { train(); sched.step(); }
 * }</pre>
 */
public final class StepLR {
    private final Optimizer opt;
    private final int stepSize;
    private final float gamma;
    private final float base;
    private int epoch;

    /** A schedule over {@code opt} starting from its current learning rate. */
    public StepLR(Optimizer opt, int stepSize, float gamma) {
        if (stepSize < 1 || !(gamma > 0)) {
            throw new IllegalArgumentException(
                    "StepLR: step size must be >= 1 and gamma > 0, got " + stepSize + ", " + gamma);
        }
        this.opt = opt;
        this.stepSize = stepSize;
        this.gamma = gamma;
        this.base = opt.lr();
    }

    /** Ends an epoch: sets the learning rate for the next one. */
    public void step() {
        epoch++;
        opt.setLr((float) (base * Math.pow(gamma, epoch / stepSize)));
    }
}
