package dev.gradus.optim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A learning-rate schedule over an optimizer, as {@code torch.optim.lr_scheduler}: each {@link #step()} advances
 * one epoch (or one batch, for schedules whose {@link #unit()} is {@link Unit#BATCH}) and sets the rate the
 * next one trains with. {@code Training.fit} steps it at the right moments.
 *
 * <pre>{@code
 * LRScheduler s = new CosineAnnealingLR(opt, 10, 0f);
 * for (int epoch = 0; epoch < 10; epoch++) { train(); s.step(); }
 * }</pre>
 */
public abstract class LRScheduler {
    /** When a schedule is stepped. */
    public enum Unit {
        /** After every epoch (StepLR, cosine annealing, linear warmup, reduce-on-plateau). */
        EPOCH,
        /** After every optimizer step (one-cycle, as PyTorch's OneCycleLR). */
        BATCH
    }

    protected final Optimizer opt;
    /** The optimizer's learning rate when the schedule was made. */
    protected final float base;

    private int steps;

    protected LRScheduler(Optimizer opt) {
        this.opt = opt;
        this.base = opt.lr();
    }

    /** Advances one epoch or batch and sets the learning rate for the next. */
    public void step() {
        steps++;
        opt.setLr((float) lrAt(steps));
    }

    /** Steps taken so far (PyTorch's {@code last_epoch}). */
    public int steps() {
        return steps;
    }

    /** This schedule's position, as strings, for checkpoints. */
    public Map<String, String> state() {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("steps", Integer.toString(steps));
        return s;
    }

    /** Returns to the position {@link #state()} described (the optimizer's rate is restored with it). */
    public void restore(Map<String, String> state) {
        steps = Integer.parseInt(state.getOrDefault("steps", "0"));
    }

    /** The learning rate after {@code step} steps (0: the one the schedule starts with). */
    public abstract double lrAt(int step);

    /** When {@link #step()} is called. */
    public Unit unit() {
        return Unit.EPOCH;
    }
}
