package dev.gradus.examples;

import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Mnist;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.train.Training;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The Flux.jl model-zoo MLP on MNIST: 784 -> Dense 48 relu -> Dense 10, softmax cross-entropy, Adam 0.01 (a
 * tenth from epoch 8 on), batch 128, 10 epochs, Glorot initialisation as Flux.
 *
 * <pre>{@code Training.Result r = MlpCommand.train(TrainOptions.defaults(2, 128, 0.01f, out), 48, System.out);}</pre>
 */
@Command(name = "mlp", description = "Train the Flux.jl MNIST MLP (784-48-10, Adam) and report test accuracy.")
public final class MlpCommand implements Callable<Integer> {
    @Mixin
    TrainOptions options = TrainOptions.defaults(10, 128, 0.01f, Path.of("out", "mlp"));

    @Option(names = "--hidden", description = "hidden units (default: ${DEFAULT-VALUE})")
    int hidden = 48;

    @Option(names = "--save", description = "write the trained model to this safetensors file")
    Path save;

    @Override
    public Integer call() throws IOException {
        train(options, hidden, save, System.out);
        return 0;
    }

    /** Trains and evaluates, printing one line per epoch and writing {@code metrics.json} into {@code out}. */
    public static Training.Result train(TrainOptions o, int hidden, PrintStream log) throws IOException {
        return train(o, hidden, null, log);
    }

    /** As above, saving the trained model to {@code save} (safetensors, loadable by {@code predict}) when not null. */
    public static Training.Result train(TrainOptions o, int hidden, Path save, PrintStream log) throws IOException {
        Mnist.Splits mnist = o.mnist();
        Device device = Device.defaultDevice();
        Rng rng = new Rng(o.seed);
        DataLoader train = new DataLoader(mnist.train(), o.batch).shuffle(rng.nextLong());
        DataLoader test = new DataLoader(mnist.test(), 1000);
        Training.Result r;
        // Flatten, Dense, ReLU, Dense: the architecture every saved MLP has, so predict and export-onnx rebuild it.
        try (Sequential model = Models.mlp(device, new int[] {hidden}, 0f, rng);
                Adam opt = new Adam(model.parameters(), Adam.Config.lr(o.lr))) {
            o.printSetup(model, device, mnist, "Adam", "", log);
            // Adam at 0.01 ends an epoch wherever its last steps left it (test accuracy swings by +-0.3% between
            // epochs); a tenth of the rate for the last epochs settles it, as for the CNNs.
            r = o.fit(
                    Training.Config.of(model, opt, train, test, o.epochs).withName("mlp 784-" + hidden + "-10"),
                    device,
                    log);
            TrainOptions.save(model, save, Models.describe("mlp", new int[] {hidden}, 0f), log);
        }
        Training.writeReport(o.out, r, mnist.test(), Mnist.CLASS_NAMES, log);
        return r;
    }
}
