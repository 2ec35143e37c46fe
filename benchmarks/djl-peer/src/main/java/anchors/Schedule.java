package anchors;

import ai.djl.training.tracker.Tracker;

/**
 * The learning rate Gradus's examples train with, set by the loop before every optimizer step (DJL's optimizers
 * read it through {@link #tracker()}): StepLR(7, 0.1) per epoch (every example without its own schedule, lstm
 * here) or the one-cycle warmup-cosine per batch (vit; PyTorch's OneCycleLR defaults: pct_start 0.3,
 * div_factor 25, final_div_factor 1e4, as Gradus's OneCycleLR).
 */
final class Schedule {
    private final boolean oneCycle;
    private final double base;
    private final double initial;
    private final double min;
    private final double upEnd;
    private final double downEnd;
    private volatile float current;

    private Schedule(boolean oneCycle, double base, int totalSteps) {
        this.oneCycle = oneCycle;
        this.base = base;
        this.initial = base / 25;
        this.min = initial / 1e4;
        this.upEnd = 0.3 * totalSteps - 1;
        this.downEnd = totalSteps - 1;
    }

    /** StepLR(stepSize 7, gamma 0.1) from {@code lr}. */
    static Schedule step(float lr) {
        return new Schedule(false, lr, 0);
    }

    /** One cycle of {@code totalSteps} batches peaking at {@code maxLr}. */
    static Schedule oneCycle(float maxLr, int totalSteps) {
        return new Schedule(true, maxLr, totalSteps);
    }

    /** Sets the rate for the optimizer step at {@code epoch} (0-based) and {@code globalStep} (0-based batch). */
    float set(int epoch, int globalStep) {
        current = (float) (oneCycle ? cycle(globalStep) : base * Math.pow(0.1, epoch / 7));
        return current;
    }

    /** The rate last {@link #set}. */
    float current() {
        return current;
    }

    private double cycle(int t) {
        if (t <= upEnd) {
            return anneal(initial, base, upEnd <= 0 ? 1 : t / upEnd);
        }
        return anneal(base, min, Math.min(1, (t - upEnd) / (downEnd - upEnd)));
    }

    private static double anneal(double from, double to, double pct) {
        return to + (from - to) / 2 * (Math.cos(Math.PI * pct) + 1);
    }

    /** The tracker to give the optimizer: the rate last {@link #set}. */
    Tracker tracker() {
        return numUpdate -> current; // DJL's update count is per parameter; the loop knows the step
    }
}
