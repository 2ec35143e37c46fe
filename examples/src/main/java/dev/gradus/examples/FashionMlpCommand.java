package dev.gradus.examples;

import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.FashionMnist;
import dev.gradus.datasets.Mnist;
import dev.gradus.metrics.ConfusionMatrix;
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
 * The Keras course notebook on Fashion-MNIST: Flatten, Dense 20 relu, Dense 10 (softmax in the loss), Adam 0.001,
 * batch 32, 10 epochs, Glorot initialisation as Keras; {@code --hidden 50,50 --dropout 0.2} is its second model.
 * Prints the summary, the per-epoch table, the confusion matrix and per-class accuracy.
 */
@Command(
        name = "fashion-mlp",
        description = "Train the Keras Fashion-MNIST MLP (784-20-10, Adam, batch 32) and report a confusion matrix.")
public final class FashionMlpCommand implements Callable<Integer> {
    @Mixin
    TrainOptions options = TrainOptions.defaults(10, 32, 0.001f, Path.of("out", "fashion-mlp"));

    @Option(names = "--hidden", description = "hidden layer sizes, comma separated (default: ${DEFAULT-VALUE})")
    String hidden = "20";

    @Option(names = "--dropout", description = "dropout after each hidden layer (default: ${DEFAULT-VALUE})")
    float dropout = 0f;

    @Option(names = "--save", description = "write the trained model to this safetensors file")
    Path save;

    @Override
    public Integer call() throws IOException {
        train(options, Models.parse(hidden), dropout, save, System.out);
        return 0;
    }

    /** Trains, evaluates on the test split and writes the report into {@code o.out}. */
    public static Training.Result train(TrainOptions o, int[] hidden, float dropout, Path save, PrintStream log)
            throws IOException {
        Mnist.Splits fashion = o.fashionMnist();
        Device device = Device.defaultDevice();
        Rng rng = new Rng(o.seed);
        DataLoader train = new DataLoader(fashion.train(), o.batch).shuffle(rng.nextLong());
        DataLoader test = new DataLoader(fashion.test(), 1000);
        Training.Result r;
        try (Sequential model = Models.mlp(device, hidden, dropout, rng);
                Adam opt = new Adam(model.parameters(), Adam.Config.lr(o.lr))) {
            o.printSetup(model, device, fashion, "Adam", "", log);
            // As in all our examples, the last epochs run at a tenth of the rate (StepLR(7, 0.1)).
            r = o.fit(
                    Training.Config.of(model, opt, train, test, o.epochs)
                            .withName("fashion-mlp 784-" + Models.join(hidden) + "-10"),
                    device,
                    log);
            TrainOptions.save(model, save, Models.describe("fashion-mlp", hidden, dropout), log);
        }
        ConfusionMatrix cm = Training.writeReport(o.out, r, fashion.test(), FashionMnist.CLASS_NAMES, log);
        log.println("confusion matrix (rows: true class, columns: predicted)");
        log.print(cm.format(FashionMnist.CLASS_NAMES));
        double[] per = cm.perClassAccuracy();
        log.println("per-class accuracy");
        for (int c = 0; c < per.length; c++) {
            log.printf("  %-12s %6.2f%%%n", FashionMnist.CLASS_NAMES.get(c), per[c] * 100);
        }
        return r;
    }
}
