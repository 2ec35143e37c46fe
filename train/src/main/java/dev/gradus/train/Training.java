package dev.gradus.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.metrics.ConfusionMatrix;
import dev.gradus.metrics.History;
import dev.gradus.nn.Module;
import dev.gradus.optim.LRScheduler;
import dev.gradus.optim.Optimizer;
import dev.gradus.optim.ReduceLROnPlateau;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The examples' training loop: a fastai-style table (epoch, train_loss, valid_loss, accuracy, time), a progress
 * line within each epoch when the console is a terminal, a stop with a clear message when the loss stops being a
 * number, and the output files ({@code metrics.json}, {@code history.csv}/{@code .json}, PNGs).
 *
 * <pre>{@code Training.Result r = Training.fit(Training.Config.of(model, opt, train, test, 10).withName("cnn"));}</pre>
 */
public final class Training {
    private Training() {}

    /**
     * Hears about a run as it goes: each step's running loss and each epoch's metrics (the {@code history.csv}
     * row). Keras' callbacks, fastai's callbacks.
     */
    public interface Listener {
        /**
         * After each step whose loss was read ({@link #lossEvery}: every step on the CPU): {@code meanLoss} is the
         * epoch's running mean so far.
         */
        default void onStep(int epoch, int step, int steps, double meanLoss) {}

        /** After each epoch's evaluation. */
        default void onEpoch(Map<String, Double> metrics) {}

        /**
         * Asked after each epoch (after {@link #onEpoch} and the schedule's step): true ends the run there, cleanly,
         * with its {@code History} (Keras' {@code model.stop_training}).
         */
        default boolean stopTraining() {
            return false;
        }

        /** Why {@link #stopTraining} asked to stop, for the log and {@link Result#stopped()}. */
        default String stopReason() {
            return getClass().getSimpleName() + " asked to stop";
        }

        /** Once the run has ended without an error, after the last epoch (or the one a listener stopped). */
        default void onTrainEnd(History history) {}
    }

    /**
     * What a run produced; {@code heldOut} names the evaluation split ({@code test} or {@code valid});
     * {@code testAccuracy} is NaN when no accuracy was measured (a regression); {@code stopped} says why a listener
     * ended the run early (null when every epoch ran).
     */
    public record Result(
            String model,
            String heldOut,
            double testAccuracy,
            List<Double> epochSeconds,
            List<Double> trainLoss,
            List<Double> testAccuracies,
            List<Long> nativeBytes,
            String backend,
            History history,
            Evaluation.Outcome last,
            String stopped) {
        /** A run that ran every epoch (as before {@code stopped} existed). */
        public Result(
                String model,
                String heldOut,
                double testAccuracy,
                List<Double> epochSeconds,
                List<Double> trainLoss,
                List<Double> testAccuracies,
                List<Long> nativeBytes,
                String backend,
                History history,
                Evaluation.Outcome last) {
            this(
                    model,
                    heldOut,
                    testAccuracy,
                    epochSeconds,
                    trainLoss,
                    testAccuracies,
                    nativeBytes,
                    backend,
                    history,
                    last,
                    null);
        }
    }

    /**
     * What {@link #fit} runs: the required model, optimizer, data and epoch count, and optional settings with
     * defaults (no schedule, held-out split named {@code test}, the default backend, {@code System.out}, no
     * listeners).
     *
     * <pre>{@code
     * Training.Result r = Training.fit(Training.Config.of(model, opt, train, test, 10)
     *         .withName("cnn").withSchedule(new StepLR(opt, 7, 0.1f)));
     * }</pre>
     */
    public record Config(
            String name,
            Module model,
            Optimizer optimizer,
            LRScheduler schedule,
            DataLoader train,
            DataLoader test,
            String heldOut,
            int epochs,
            Backend backend,
            PrintStream log,
            List<Listener> listeners,
            Loss loss,
            List<Metric> metrics) {
        public Config {
            // Messages name the missing piece: "this" would print nulls, the fields are not assigned yet.
            for (Object[] required : new Object[][] {
                {"name", name},
                {"model", model},
                {"optimizer", optimizer},
                {"train", train},
                {"test", test},
                {"heldOut", heldOut},
                {"backend", backend},
                {"log", log},
                {"listeners", listeners},
                {"loss", loss},
                {"metrics", metrics}
            }) {
                if (required[1] == null) {
                    throw new IllegalArgumentException("Training.Config: " + required[0] + " must not be null");
                }
            }
            if (epochs < 1) {
                throw new IllegalArgumentException("Training.Config: epochs must be >= 1, got " + epochs);
            }
            listeners = List.copyOf(listeners);
            metrics = List.copyOf(metrics);
        }

        /** The settings of a classifier's run: softmax cross-entropy, accuracy measured (as before loss and metrics). */
        public Config(
                String name,
                Module model,
                Optimizer optimizer,
                LRScheduler schedule,
                DataLoader train,
                DataLoader test,
                String heldOut,
                int epochs,
                Backend backend,
                PrintStream log,
                List<Listener> listeners) {
            this(
                    name,
                    model,
                    optimizer,
                    schedule,
                    train,
                    test,
                    heldOut,
                    epochs,
                    backend,
                    log,
                    listeners,
                    Loss.crossEntropy(),
                    List.of(Metrics.accuracy()));
        }

        /** Trains {@code model} with {@code optimizer} on {@code train} for {@code epochs}, evaluating on {@code test}. */
        public static Config of(Module model, Optimizer optimizer, DataLoader train, DataLoader test, int epochs) {
            return new Config(
                    "model",
                    model,
                    optimizer,
                    null,
                    train,
                    test,
                    "test",
                    epochs,
                    dev.gradus.Backends.defaultBackend(),
                    System.out,
                    List.of(),
                    Loss.crossEntropy(),
                    List.of(Metrics.accuracy()));
        }

        /** The run's name in the log and in {@code metrics.json}. */
        public Config withName(String n) {
            return new Config(
                    n, model, optimizer, schedule, train, test, heldOut, epochs, backend, log, listeners, loss,
                    metrics);
        }

        /** A learning-rate schedule, stepped after each epoch or batch as its unit says, a plateau one with the held-out loss (null: none). */
        public Config withSchedule(LRScheduler s) {
            return new Config(
                    name, model, optimizer, s, train, test, heldOut, epochs, backend, log, listeners, loss, metrics);
        }

        /** What the held-out split is called ({@code test}, {@code valid}). */
        public Config withHeldOut(String h) {
            return new Config(
                    name, model, optimizer, schedule, train, test, h, epochs, backend, log, listeners, loss, metrics);
        }

        /** The device the batches go to (the model's, see {@code Module.to(Device)}). */
        public Config withDevice(Device d) {
            return withBackend(Backends.of(d));
        }

        /** The backend the batches go to: the SPI-level form of {@link #withDevice}. */
        public Config withBackend(Backend b) {
            return new Config(
                    name, model, optimizer, schedule, train, test, heldOut, epochs, b, log, listeners, loss, metrics);
        }

        /** Where the table and progress go. */
        public Config withLog(PrintStream l) {
            return new Config(
                    name, model, optimizer, schedule, train, test, heldOut, epochs, backend, l, listeners, loss,
                    metrics);
        }

        /**
         * What is minimised (default: {@link Loss#crossEntropy()}); the held-out loss in the table is the same one.
         */
        public Config withLoss(Loss lossFunction) {
            return new Config(
                    name,
                    model,
                    optimizer,
                    schedule,
                    train,
                    test,
                    heldOut,
                    epochs,
                    backend,
                    log,
                    listeners,
                    lossFunction,
                    metrics);
        }

        /**
         * What is measured on the held-out split after each epoch (default: accuracy), each a column of the table
         * and of the {@code History} ({@code valid_mae}).
         */
        public Config withMetrics(List<Metric> m) {
            return new Config(
                    name, model, optimizer, schedule, train, test, heldOut, epochs, backend, log, listeners, loss, m);
        }

        /** Who hears about steps and epochs. */
        public Config withListeners(List<Listener> l) {
            return new Config(
                    name, model, optimizer, schedule, train, test, heldOut, epochs, backend, log, l, loss, metrics);
        }
    }

    /**
     * One training step on a batch: zero the gradients, forward, softmax cross-entropy against {@code labels},
     * backward, update. Returns the loss, not read (reading waits for a GPU). Shared by {@link #fit} and the
     * benchmarks.
     */
    public static Tensor step(Module model, Optimizer opt, Tensor x, Tensor labels) {
        return step(model, opt, x, labels, Loss.crossEntropy());
    }

    /** One training step with {@code lossFunction}: zero the gradients, forward, loss, backward, update. */
    public static Tensor step(Module model, Optimizer opt, Tensor x, Tensor target, Loss lossFunction) {
        opt.zeroGrad();
        Tensor loss = lossFunction.apply(model.forward(x), target);
        loss.backward();
        opt.step();
        return loss;
    }

    /** Trains as {@code c} says, evaluating after each epoch. */
    public static Result fit(Config c) {
        String name = c.name();
        Module model = c.model();
        Optimizer opt = c.optimizer();
        LRScheduler schedule = c.schedule();
        DataLoader train = c.train();
        DataLoader test = c.test();
        String heldOut = c.heldOut();
        int epochs = c.epochs();
        Backend backend = c.backend();
        PrintStream log = c.log();
        List<Listener> listeners = c.listeners();
        List<Double> seconds = new ArrayList<>();
        List<Double> losses = new ArrayList<>();
        List<Double> accs = new ArrayList<>();
        List<Long> bytes = new ArrayList<>();
        History history = new History();
        Evaluation.Outcome outcome = null;
        boolean terminal = System.console() != null && log == System.out;
        List<Metric> metrics = c.metrics();
        StringBuilder header =
                new StringBuilder(String.format("%5s  %10s  %10s", "epoch", "train_loss", heldOut + "_loss"));
        for (Metric m : metrics) {
            header.append(String.format("  %" + width(m) + "s", m.name()));
        }
        log.println(header.append(String.format("  %7s", "time")));
        String stopped = null;
        for (int epoch = 1; epoch <= epochs; epoch++) {
            model.train();
            long t0 = System.nanoTime();
            double lossSum = 0;
            int steps = 0;
            int total = train.batches();
            int every = lossEvery(backend);
            Tensor unreadSum = null; // the losses of the steps since the last read, summed where they were computed
            int unread = 0;
            try {
                for (DataLoader.Batch b : train.epoch(backend)) {
                    try (b;
                            Scope s = Scope.open()) {
                        Tensor loss = step(model, opt, b.x(), b.y(), c.loss());
                        if (schedule != null && schedule.unit() == LRScheduler.Unit.BATCH) {
                            schedule.step();
                        }
                        Tensor sum = unreadSum == null ? loss.detach().mul(1f) : unreadSum.add(loss.detach());
                        if (unreadSum != null) {
                            unreadSum.close();
                            unreadSum = null;
                        }
                        steps++;
                        unread++;
                        if (unread < every && steps < total) {
                            unreadSum = s.keep(sum);
                            continue;
                        }
                        // The one wait for the device in `every` steps.
                        lossSum += read(sum, name, steps - unread + 1, steps, epoch, opt);
                        unread = 0;
                        for (Listener li : listeners) {
                            li.onStep(epoch, steps, total, lossSum / steps);
                        }
                        if (terminal && (steps % 20 == 0 || steps == total)) {
                            int filled = (int) (30L * steps / total);
                            log.printf(
                                    "\r  [%s%s] %d/%d loss %.4f",
                                    "#".repeat(filled), ".".repeat(30 - filled), steps, total, lossSum / steps);
                        }
                    }
                }
                if (unreadSum != null) { // the loader ended before the step count it announced
                    lossSum += read(unreadSum, name, steps - unread + 1, steps, epoch, opt);
                }
            } finally {
                if (unreadSum != null) {
                    unreadSum.close();
                }
            }
            if (terminal) {
                log.print("\r" + " ".repeat(70) + "\r");
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            outcome = Evaluation.evaluate(model, test, backend, c.loss(), metrics);
            double acc = outcome.metrics().getOrDefault("accuracy", Double.NaN);
            double meanLoss = lossSum / Math.max(1, steps);
            seconds.add(sec);
            losses.add(meanLoss);
            accs.add(acc);
            bytes.add(backend.memory().liveBytes());
            Map<String, Double> row = new LinkedHashMap<>();
            row.put("epoch", (double) epoch);
            row.put("train_loss", meanLoss);
            row.put(heldOut + "_loss", outcome.loss());
            outcome.metrics().forEach((k, v) -> row.put(heldOut + "_" + k, v));
            row.put("seconds", sec);
            row.put("native_bytes", (double) backend.memory().liveBytes());
            history.add(row);
            StringBuilder line =
                    new StringBuilder(String.format("%5d  %10.4f  %10.4f", epoch, meanLoss, outcome.loss()));
            for (Metric m : metrics) {
                double v = outcome.metrics().getOrDefault(m.name(), Double.NaN);
                line.append(
                        m.isFraction()
                                ? String.format("  %" + (width(m) - 1) + ".2f%%", v * 100)
                                : String.format("  %" + width(m) + ".4f", v));
            }
            log.println(line.append(String.format("  %7.2fs", sec)));
            for (Listener li : listeners) {
                li.onEpoch(row);
            }
            if (schedule instanceof ReduceLROnPlateau plateau) {
                plateau.step(outcome.loss());
            } else if (schedule != null && schedule.unit() == LRScheduler.Unit.EPOCH) {
                schedule.step();
            }
            for (Listener li : listeners) {
                if (stopped == null && li.stopTraining()) {
                    stopped = li.stopReason();
                }
            }
            if (stopped != null) {
                log.printf("stopped after epoch %d: %s%n", epoch, stopped);
                break;
            }
        }
        for (Listener li : listeners) {
            li.onTrainEnd(history);
        }
        double last = accs.isEmpty() ? Double.NaN : accs.get(accs.size() - 1);
        return new Result(name, heldOut, last, seconds, losses, accs, bytes, backend.name(), history, outcome, stopped);
    }

    /** Column width of a metric in the table: its name, and at least 9 (accuracy's width, "100.00%"). */
    private static int width(Metric m) {
        return Math.max(9, m.name().length());
    }

    /** The summed losses of steps {@code first..last}, or a stop naming them when the sum is not a number. */
    private static float read(Tensor sum, String name, int first, int last, int epoch, Optimizer opt) {
        float l = sum.item();
        if (!Float.isFinite(l)) {
            String where = first == last ? "at step " + last : "in steps " + first + "-" + last;
            throw new TrainingDivergedException(name + ": training loss became " + l + " " + where + " of epoch "
                    + epoch + "; stopping. Lower the learning rate (now " + opt.lr() + "), or run with"
                    + " Anomaly.detect() to find the op that made it");
        }
        return l;
    }

    /**
     * Steps between reads of the training loss: each read waits for the device, so an accelerator's loop reads
     * every 10 steps (the losses in between are summed on the device) while the CPU's reads every step, where a
     * read costs nothing. {@code -Dgradus.lossEvery=N} sets it for every backend.
     */
    static int lossEvery(Backend backend) {
        Integer n = Integer.getInteger("gradus.lossEvery");
        if (n != null) {
            if (n < 1) {
                throw new IllegalArgumentException("gradus.lossEvery must be at least 1, not " + n);
            }
            return n;
        }
        return backend.device().type().equals("cpu") ? 1 : 10;
    }

    /** Writes {@code metrics.json} into {@code out} (atomically). */
    public static void writeMetrics(Path out, Result r) throws IOException {
        Files.createDirectories(out);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", r.model());
        m.put("backend", r.backend());
        if (Double.isFinite(r.testAccuracy())) {
            m.put(r.heldOut() + "_accuracy", r.testAccuracy());
        }
        if (r.last() != null) {
            // The last epoch's value of every metric (JSON has no NaN: those are left out).
            r.last().metrics().forEach((k, v) -> {
                if (Double.isFinite(v)) {
                    m.put(r.heldOut() + "_" + k, v);
                }
            });
        }
        m.put("epoch_seconds", r.epochSeconds());
        m.put("train_loss", r.trainLoss());
        if (r.testAccuracies().stream().allMatch(Double::isFinite)) {
            m.put(r.heldOut() + "_accuracy_per_epoch", r.testAccuracies());
        }
        if (r.stopped() != null) {
            m.put("stopped", r.stopped());
        }
        m.put("native_bytes", r.nativeBytes());
        if (r.last() != null) {
            // The last epoch's evaluation pass: every run measures inference speed too.
            m.put("eval_images_per_second", Math.round(r.last().imagesPerSecond()));
        }
        byte[] json =
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(m);
        dev.gradus.io.AtomicFiles.write(out.resolve("metrics.json"), o -> o.write(json));
    }

    /**
     * Writes every output of a run into {@code out}: metrics.json, history.csv, history.json, curves.png,
     * confusion.png and misclassified.png (the first 32 errors on {@code heldOut}, predicted and true labels).
     */
    public static ConfusionMatrix writeReport(
            Path out, Result r, Dataset heldOut, List<String> classNames, PrintStream log) throws IOException {
        writeMetrics(out, r);
        r.history().writeCsv(out.resolve("history.csv"));
        r.history().writeJson(out.resolve("history.json"));
        Charts.curves(r.history(), out.resolve("curves.png"));
        ConfusionMatrix cm = ConfusionMatrix.of(
                classNames.size(), r.last().labels(), r.last().predictions());
        Charts.confusion(cm, classNames, out.resolve("confusion.png"));
        int[] wrong = cm.misclassified();
        int[] shown = Arrays.copyOf(wrong, Math.min(32, wrong.length));
        List<String> captions = new ArrayList<>();
        for (int i : shown) {
            captions.add("pred " + shorten(classNames.get(cm.prediction(i))) + " / true "
                    + shorten(classNames.get(cm.label(i))));
        }
        int[] item = heldOut.itemShape();
        Charts.labelledGrid(
                heldOut.features(),
                shown,
                item[item.length - 2],
                item[item.length - 1],
                captions,
                8,
                out.resolve("misclassified.png"));
        log.printf(
                "%s accuracy %.2f%%; %d misclassified; wrote metrics.json, history.csv, history.json, curves.png,"
                        + " confusion.png, misclassified.png into %s%n",
                r.heldOut(), r.testAccuracy() * 100, wrong.length, out);
        return cm;
    }

    private static String shorten(String s) {
        return s.length() <= 11 ? s : s.substring(0, 11);
    }
}
