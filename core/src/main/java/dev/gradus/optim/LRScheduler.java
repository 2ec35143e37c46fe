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
    /**
     * The optimizer's learning rate when the schedule was made (PyTorch's {@code base_lrs}); a checkpoint restores
     * it, so a resume into an optimizer built with another rate goes on with the saved schedule.
     */
    protected float base;

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

    /** This schedule's position and base rate, as strings, for checkpoints. */
    public Map<String, String> state() {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("steps", Integer.toString(steps));
        s.put("base_lr", Float.toString(base));
        return s;
    }

    /**
     * Returns to the position and base rate {@link #state()} described (the optimizer's rate is restored with it);
     * a state without {@code base_lr} (an older checkpoint) keeps this schedule's base rate.
     *
     * @throws IllegalArgumentException naming a missing or malformed value, before anything is changed
     */
    public void restore(Map<String, String> state) {
        int s = (int) integer(state, "steps", Integer.MAX_VALUE);
        float b = state.containsKey("base_lr") ? (float) number(state, "base_lr") : base;
        steps = s;
        base = b;
    }

    /** The value of {@code key}: an integer in [0, max]. */
    protected static long integer(Map<String, String> state, String key, long max) {
        String v = state.get(key);
        if (v == null) {
            throw new IllegalArgumentException("schedule state '" + key + "' is missing");
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n >= 0 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                "schedule state '" + key + "' is " + quote(v) + ", not an integer in [0, " + max + "]");
    }

    /** The value of {@code key}: a number >= 0, finite unless {@code infinite} is allowed. */
    protected static double number(Map<String, String> state, String key, boolean infinite) {
        String v = state.get(key);
        if (v == null) {
            throw new IllegalArgumentException("schedule state '" + key + "' is missing");
        }
        try {
            double d = Double.parseDouble(v.trim());
            // finite: also as the float a rate is kept in (1e39 is a finite double but an infinite float)
            if (d >= 0 && (infinite || !Float.isInfinite((float) d))) {
                return d;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("schedule state '" + key + "' is " + quote(v) + ", not a "
                + (infinite ? "" : "finite ") + "number >= 0");
    }

    private static double number(Map<String, String> state, String key) {
        return number(state, key, false);
    }

    private static String quote(String v) {
        String one = v.replaceAll("\\p{Cntrl}", "?");
        return "'" + (one.length() > 40 ? one.substring(0, 40) + "..." : one) + "'";
    }

    /** The learning rate after {@code step} steps (0: the one the schedule starts with). */
    public abstract double lrAt(int step);

    /** When {@link #step()} is called. */
    public Unit unit() {
        return Unit.EPOCH;
    }
}
