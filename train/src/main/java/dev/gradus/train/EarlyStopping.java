package dev.gradus.train;

import dev.gradus.DType;
import dev.gradus.Tensor;
import dev.gradus.metrics.History;
import dev.gradus.nn.Module;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Stops {@link Training#fit} when a monitored value of the epoch's row has not improved for {@code patience}
 * epochs, and optionally puts back the weights of the best epoch (Keras' {@code EarlyStopping}). The run ends
 * cleanly: its {@code History} keeps every epoch, and {@link Training.Result#stopped()} says why it ended.
 *
 * <pre>{@code
 * var stop = new EarlyStopping(model, EarlyStopping.Config.of("valid_loss").withPatience(3).restoringBestWeights());
 * Training.fit(Training.Config.of(model, opt, train, valid, 100).withListeners(List.of(stop)));
 * }</pre>
 */
public final class EarlyStopping implements Training.Listener {
    /** Whether smaller or larger is better. */
    public enum Mode {
        MIN,
        MAX
    }

    /**
     * What to watch: {@code monitor} is a key of the epoch's row ({@code valid_loss}, {@code valid_accuracy},
     * {@code test_mae}); {@code patience} epochs without an improvement of more than {@code minDelta} stop the run;
     * {@code mode} null picks MAX for accuracy, precision, recall and F1 and MIN otherwise.
     */
    public record Config(String monitor, int patience, double minDelta, Mode mode, boolean restoreBestWeights) {
        public Config {
            if (monitor == null || monitor.isEmpty()) {
                throw new IllegalArgumentException("EarlyStopping: monitor must name a metric, e.g. valid_loss");
            }
            if (patience < 0 || !(minDelta >= 0)) {
                throw new IllegalArgumentException(
                        "EarlyStopping: patience " + patience + " and minDelta " + minDelta + " must not be negative");
            }
        }

        /** Stops at the first epoch without improvement of {@code monitor} (Keras' defaults). */
        public static Config of(String monitor) {
            return new Config(monitor, 0, 0, null, false);
        }

        /** Epochs to wait for an improvement. */
        public Config withPatience(int p) {
            return new Config(monitor, p, minDelta, mode, restoreBestWeights);
        }

        /** The smallest change that counts as an improvement. */
        public Config withMinDelta(double d) {
            return new Config(monitor, patience, d, mode, restoreBestWeights);
        }

        /** Whether smaller or larger is better. */
        public Config withMode(Mode m) {
            return new Config(monitor, patience, minDelta, m, restoreBestWeights);
        }

        /** At the end of the run, the model gets back the parameters and buffers of its best epoch. */
        public Config restoringBestWeights() {
            return new Config(monitor, patience, minDelta, mode, true);
        }

        Mode resolvedMode() {
            if (mode != null) {
                return mode;
            }
            String m = monitor.toLowerCase(Locale.ROOT);
            boolean higher = m.contains("acc") || m.contains("precision") || m.contains("recall") || m.contains("f1");
            return higher ? Mode.MAX : Mode.MIN;
        }
    }

    private final Module model;
    private final Config config;
    private final Mode mode;
    private double best = Double.NaN;
    private int bestEpoch;
    private int epoch;
    private int wait;
    private boolean stop;
    private Map<String, Object> bestWeights;

    /** Watches {@code model}'s run as {@code config} says. */
    public EarlyStopping(Module model, Config config) {
        if (model == null || config == null) {
            throw new IllegalArgumentException("EarlyStopping: model and config must not be null");
        }
        this.model = model;
        this.config = config;
        this.mode = config.resolvedMode();
    }

    @Override
    public void onEpoch(Map<String, Double> row) {
        Double v = row.get(config.monitor());
        if (v == null) {
            throw new IllegalArgumentException(
                    "EarlyStopping: no '" + config.monitor() + "' in the epoch's metrics " + row.keySet());
        }
        epoch++;
        double value = v;
        boolean improved = !Double.isNaN(value)
                && (Double.isNaN(best)
                        || (mode == Mode.MIN ? value < best - config.minDelta() : value > best + config.minDelta()));
        if (improved) {
            best = value;
            bestEpoch = epoch;
            wait = 0;
            if (config.restoreBestWeights()) {
                bestWeights = snapshot();
            }
        } else if (++wait >= config.patience()) {
            stop = true;
        }
    }

    @Override
    public boolean stopTraining() {
        return stop;
    }

    @Override
    public String stopReason() {
        return config.monitor() + " did not improve for " + wait + " epoch(s) after epoch " + bestEpoch + " (" + best
                + ")";
    }

    @Override
    public void onTrainEnd(History history) {
        if (bestWeights != null && bestEpoch != epoch) {
            restore(bestWeights);
        }
    }

    /** The epoch (from 1) with the best monitored value so far; 0 before the first. */
    public int bestEpoch() {
        return bestEpoch;
    }

    /** The best monitored value so far; NaN before the first. */
    public double best() {
        return best;
    }

    private Map<String, Object> snapshot() {
        Map<String, Object> s = new LinkedHashMap<>();
        model.namedParameters().forEach((k, p) -> s.put("p:" + k, values(p)));
        model.namedBuffers().forEach((k, b) -> s.put("b:" + k, values(b)));
        return s;
    }

    private static Object values(Tensor t) {
        return t.dtype() == DType.INT32 ? t.toIntArray() : t.toFloatArray();
    }

    private void restore(Map<String, Object> s) {
        model.namedParameters().forEach((k, p) -> copy(p, s.get("p:" + k)));
        model.namedBuffers().forEach((k, b) -> copy(b, s.get("b:" + k)));
    }

    private static void copy(Tensor t, Object values) {
        if (values == null) {
            return; // a parameter added after the best epoch: nothing to put back
        }
        int[] shape = t.shape().dims();
        try (Tensor src = values instanceof int[] ints
                ? Tensor.ofInts(t.backend(), ints, shape)
                : Tensor.of(t.backend(), (float[]) values, shape)) {
            t.copyFrom(src);
        }
    }
}
