package dev.gradus.examples;

import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Mnist;
import dev.gradus.optim.Adam;
import dev.gradus.train.Training;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Row-by-row MNIST with an LSTM ({@link RowLstm}): 28 steps of 28 pixels, 128 hidden units, the last step's state
 * to 10 classes; Adam 1e-3 (a tenth from epoch 8), batch 128, 10 epochs (98.61%: docs/examples.md).
 *
 * <pre>{@code Training.Result r = LstmCommand.train(TrainOptions.defaults(1, 128, 1e-3f, out), 128, null, System.out);}</pre>
 */
@Command(
        name = "lstm",
        description = "Train an LSTM on MNIST read row by row (28 steps of 28 pixels) and report test accuracy.")
public final class LstmCommand implements Callable<Integer> {
    @Mixin
    TrainOptions options = TrainOptions.defaults(10, 128, 1e-3f, Path.of("out", "lstm"));

    @Option(names = "--hidden", description = "LSTM hidden units (default: ${DEFAULT-VALUE})")
    int hidden = 128;

    @Option(names = "--save", description = "write the trained model to this safetensors file")
    Path save;

    @Override
    public Integer call() throws IOException {
        train(options, hidden, save, System.out);
        return 0;
    }

    /** Trains and evaluates; saves the model to {@code save} (loadable by {@code predict}) when not null. */
    public static Training.Result train(TrainOptions o, int hidden, Path save, PrintStream log) throws IOException {
        Mnist.Splits mnist = o.mnist();
        Device device = Device.defaultDevice();
        Rng rng = new Rng(o.seed);
        DataLoader train = new DataLoader(mnist.train(), o.batch).shuffle(rng.nextLong());
        DataLoader test = new DataLoader(mnist.test(), 1000);
        Training.Result r;
        try (RowLstm model = new RowLstm(device, hidden, rng);
                Adam opt = new Adam(model.parameters(), Adam.Config.lr(o.lr))) {
            o.printSetup(model, device, mnist, "Adam", "", log);
            r = o.fit(
                    Training.Config.of(model, opt, train, test, o.epochs).withName("lstm 28x28-" + hidden + "-10"),
                    device,
                    log);
            Map<String, String> metadata = Map.of("gradus.example", "lstm", "gradus.hidden", Integer.toString(hidden));
            TrainOptions.save(model, save, metadata, log);
        }
        Training.writeReport(o.out, r, mnist.test(), Mnist.CLASS_NAMES, log);
        return r;
    }
}
