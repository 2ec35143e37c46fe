package dev.gradus.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.datasets.DataLoader;
import dev.gradus.nn.Module;
import dev.gradus.optim.Optimizer;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The examples' training loop: one line per epoch (epoch, train loss, test accuracy, seconds), a stop with a clear
 * message when the loss stops being a number, and {@code metrics.json}.
 *
 * <pre>{@code Training.Result r = Training.fit("cnn", model, opt, train, test, 10, backend, System.out);}</pre>
 */
public final class Training {
    private Training() {
    }

    /** What a run produced. */
    public record Result(String model, double testAccuracy, List<Double> epochSeconds, List<Double> trainLoss,
                         List<Double> testAccuracies, List<Long> nativeBytes, String backend) {
    }

    /** Trains {@code model} for {@code epochs}, evaluating on {@code test} after each. */
    public static Result fit(String name, Module model, Optimizer opt, DataLoader train, DataLoader test, int epochs,
                             Backend backend, PrintStream log) {
        return fit(name, model, opt, null, train, test, epochs, backend, log);
    }

    /** As above, stepping {@code schedule} (may be null) after each epoch. */
    public static Result fit(String name, Module model, Optimizer opt, dev.gradus.optim.StepLR schedule,
                             DataLoader train, DataLoader test, int epochs, Backend backend, PrintStream log) {
        List<Double> seconds = new ArrayList<>();
        List<Double> losses = new ArrayList<>();
        List<Double> accs = new ArrayList<>();
        List<Long> bytes = new ArrayList<>();
        double acc = 0;
        log.println("epoch  train_loss  test_acc  seconds");
        for (int epoch = 1; epoch <= epochs; epoch++) {
            model.train();
            long t0 = System.nanoTime();
            double lossSum = 0;
            int steps = 0;
            for (DataLoader.Batch b : train.epoch(backend)) {
                try (b; Scope s = Scope.open()) {
                    opt.zeroGrad();
                    Tensor loss = model.forward(b.x()).crossEntropy(b.y());
                    loss.backward();
                    opt.step();
                    float l = loss.item();
                    if (!Float.isFinite(l)) {
                        throw new IllegalStateException(name + ": training loss became " + l + " at step " + (steps + 1)
                                + " of epoch " + epoch + "; lower --lr");
                    }
                    lossSum += l;
                    steps++;
                }
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            acc = Evaluation.accuracy(model, test, backend);
            double meanLoss = lossSum / Math.max(1, steps);
            seconds.add(sec);
            losses.add(meanLoss);
            accs.add(acc);
            bytes.add(backend.memory().liveBytes());
            log.printf("%5d  %10.4f  %7.2f%%  %7.3f%n", epoch, meanLoss, acc * 100, sec);
            if (schedule != null) {
                schedule.step();
            }
        }
        return new Result(name, acc, seconds, losses, accs, bytes, backend.name());
    }

    /** Writes {@code metrics.json} into {@code out} (atomically). */
    public static void writeMetrics(Path out, Result r) throws IOException {
        Files.createDirectories(out);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", r.model());
        m.put("backend", r.backend());
        m.put("test_accuracy", r.testAccuracy());
        m.put("epoch_seconds", r.epochSeconds());
        m.put("train_loss", r.trainLoss());
        m.put("test_accuracy_per_epoch", r.testAccuracies());
        m.put("native_bytes", r.nativeBytes());
        Path tmp = out.resolve("metrics.json.tmp");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), m);
        Files.move(tmp, out.resolve("metrics.json"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }
}
