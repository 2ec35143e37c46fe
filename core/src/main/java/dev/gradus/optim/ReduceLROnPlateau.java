package dev.gradus.optim;

import java.util.Map;

/**
 * Multiplies the rate by {@code factor} when a metric to minimise (the held-out loss) has not improved by a
 * relative {@code threshold} for more than {@code patience} epochs, then waits {@code cooldown} epochs, never below
 * {@code minLr}: PyTorch's {@code ReduceLROnPlateau} in its default mode ({@code min}, {@code rel}). The Flux
 * model zoo's CNN drops its rate this way when progress stalls.
 *
 * <pre>{@code
 * ReduceLROnPlateau s = new ReduceLROnPlateau(opt, 0.1f, 2);
 * for (...) { train(); s.step(testLoss); }
 * }</pre>
 */
public final class ReduceLROnPlateau extends LRScheduler {
    private final float factor;
    private final int patience;
    private final float threshold;
    private final int cooldown;
    private final float minLr;
    private double best = Double.POSITIVE_INFINITY;
    private int bad;
    private int cooling;
    private double lr;

    /** PyTorch's threshold 1e-4, no cooldown, no floor. */
    public ReduceLROnPlateau(Optimizer opt, float factor, int patience) {
        this(opt, factor, patience, 1e-4f, 0, 0f);
    }

    /** A schedule over {@code opt} from its current rate. */
    public ReduceLROnPlateau(Optimizer opt, float factor, int patience, float threshold, int cooldown, float minLr) {
        super(opt);
        if (!(factor > 0 && factor < 1) || patience < 0 || !(threshold >= 0) || cooldown < 0 || !(minLr >= 0)) {
            throw new IllegalArgumentException("ReduceLROnPlateau: needs factor in (0, 1), patience, cooldown >= 0,"
                    + " threshold, minLr >= 0; got " + factor + ", " + patience + ", " + threshold + ", " + cooldown
                    + ", " + minLr);
        }
        this.factor = factor;
        this.patience = patience;
        this.threshold = threshold;
        this.cooldown = cooldown;
        this.minLr = minLr;
        this.lr = base;
    }

    /**
     * Not meaningful without a metric.
     *
     * @throws IllegalStateException always: call {@link #step(double)}
     */
    @Override
    public void step() {
        throw new IllegalStateException("ReduceLROnPlateau: step(metric) needs the held-out loss");
    }

    /** Ends an epoch whose held-out metric was {@code metric}. */
    public void step(double metric) {
        if (metric < best * (1 - threshold)) {
            best = metric;
            bad = 0;
        } else {
            bad++;
        }
        if (cooling > 0) {
            cooling--;
            bad = 0;
        }
        if (bad > patience) {
            lr = Math.max(lr * factor, minLr);
            cooling = cooldown;
            bad = 0;
        }
        opt.setLr((float) lr);
    }

    @Override
    public Map<String, String> state() {
        Map<String, String> s = super.state();
        s.put("best", Double.toString(best));
        s.put("bad_epochs", Integer.toString(bad));
        s.put("cooldown_counter", Integer.toString(cooling));
        s.put("lr", Double.toString(lr));
        return s;
    }

    @Override
    public void restore(Map<String, String> state) {
        // every value checked before any is set
        double b = bestOf(state);
        int badEpochs = (int) integer(state, "bad_epochs", Integer.MAX_VALUE);
        int cooldownCounter = (int) integer(state, "cooldown_counter", Integer.MAX_VALUE);
        double rate = number(state, "lr", false);
        super.restore(state);
        best = b;
        bad = badEpochs;
        cooling = cooldownCounter;
        lr = rate;
    }

    /** The best metric so far: any number but NaN (infinity before the first epoch; a loss may be negative). */
    private static double bestOf(Map<String, String> state) {
        String v = state.get("best");
        try {
            double d = Double.parseDouble(v == null ? "" : v.trim());
            if (!Double.isNaN(d)) {
                return d;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                "schedule state 'best' is " + (v == null ? "missing" : "'" + v + "'") + ", not a number");
    }

    /** The current rate; the schedule depends on the metrics seen, not on the step number. */
    @Override
    public double lrAt(int step) {
        return lr;
    }
}
