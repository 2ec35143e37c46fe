package dev.gradus.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.Mnist;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The Flux.jl model-zoo MLP on MNIST: 784 -> Dense 48 relu -> Dense 10, softmax cross-entropy, Adam 0.01,
 * Glorot initialisation as Flux.
 *
 * <pre>{@code MlpCommand.Result r = MlpCommand.train(TrainOptions.defaults(2, 128, 0.01f, out), 48, System.out);}</pre>
 */
@Command(name = "mlp", mixinStandardHelpOptions = true,
        description = "Train the Flux.jl MNIST MLP (784-48-10, Adam) and report test accuracy.")
public final class MlpCommand implements Callable<Integer> {
    @Mixin
    TrainOptions options = TrainOptions.defaults(10, 128, 0.01f, Path.of("out", "mlp"));

    @Option(names = "--hidden", description = "hidden units (default: ${DEFAULT-VALUE})")
    int hidden = 48;

    /** What a run produced. */
    public record Result(double testAccuracy, List<Double> epochSeconds, List<Double> trainLoss,
                         List<Double> testAccuracies, List<Long> nativeBytes, String backend) {
    }

    @Override
    public Integer call() throws IOException {
        train(options, hidden, System.out);
        return 0;
    }

    /** Trains and evaluates, printing one line per epoch and writing {@code metrics.json} into {@code out}. */
    public static Result train(TrainOptions o, int hidden, PrintStream log) throws IOException {
        Mnist.Splits mnist = Mnist.load(o.data);
        Backend backend = Backends.defaultBackend();
        Rng rng = new Rng(o.seed);
        Dataset train = mnist.train();
        DataLoader trainLoader = new DataLoader(train, o.batch).shuffle(rng.nextLong()).flatten(true);
        DataLoader testLoader = new DataLoader(mnist.test(), 1000).flatten(true);
        List<Double> seconds = new ArrayList<>();
        List<Double> losses = new ArrayList<>();
        List<Double> accs = new ArrayList<>();
        List<Long> bytes = new ArrayList<>();
        double acc = 0;
        try (Sequential model = new Sequential(
                new Dense(backend, 784, hidden, true, Init.GLOROT, rng),
                new ReLU(),
                new Dense(backend, hidden, 10, true, Init.GLOROT, rng));
             Adam opt = new Adam(model.parameters(), Adam.Config.lr(o.lr))) {
            log.printf("backend %s, %d train / %d test images, batch %d, Adam lr %s%n", backend.name(), train.size(),
                    mnist.test().size(), o.batch, o.lr);
            log.println("epoch  train_loss  test_acc  seconds");
            for (int epoch = 1; epoch <= o.epochs; epoch++) {
                long t0 = System.nanoTime();
                double lossSum = 0;
                int steps = 0;
                for (DataLoader.Batch b : trainLoader.epoch(backend)) {
                    try (b; Scope s = Scope.open()) {
                        opt.zeroGrad();
                        Tensor loss = model.forward(b.x()).crossEntropy(b.y());
                        loss.backward();
                        opt.step();
                        lossSum += loss.item();
                        steps++;
                    }
                }
                double sec = (System.nanoTime() - t0) / 1e9;
                acc = Evaluation.accuracy(model, testLoader, backend);
                double meanLoss = lossSum / Math.max(1, steps);
                if (!Double.isFinite(meanLoss)) {
                    throw new IllegalStateException("mlp: training loss became " + meanLoss + " in epoch " + epoch
                            + "; lower --lr");
                }
                seconds.add(sec);
                losses.add(meanLoss);
                accs.add(acc);
                bytes.add(backend.memory().liveBytes());
                log.printf("%5d  %10.4f  %7.2f%%  %7.3f%n", epoch, meanLoss, acc * 100, sec);
            }
        }
        Result r = new Result(acc, seconds, losses, accs, bytes, backend.name());
        writeMetrics(o.out, r);
        log.printf("test accuracy %.2f%%; metrics written to %s%n", acc * 100, o.out.resolve("metrics.json"));
        return r;
    }

    static void writeMetrics(Path out, Result r) throws IOException {
        Files.createDirectories(out);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", "mlp 784-48-10");
        m.put("backend", r.backend());
        m.put("test_accuracy", r.testAccuracy());
        m.put("epoch_seconds", r.epochSeconds());
        m.put("train_loss", r.trainLoss());
        m.put("test_accuracy_per_epoch", r.testAccuracies());
        m.put("native_bytes", r.nativeBytes());
        Path tmp = out.resolve("metrics.json.tmp");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), m);
        Files.move(tmp, out.resolve("metrics.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
