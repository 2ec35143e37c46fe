package dev.gradus.examples;

import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.KaggleDigits;
import dev.gradus.datasets.Mnist;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.Sequential;
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
 * The fastai Kaggle digit-recognizer post: reads Kaggle's {@code train.csv} and {@code test.csv}, splits 80/20 at
 * random (fastai's {@code RandomSplitter}), shows the fit table, trains {@code --model linear|mlp|cnn} and writes
 * {@code submission.csv}.
 */
@Command(
        name = "kaggle",
        description = "Kaggle digit recognizer: train on train.csv (80/20 split), write submission.csv for test.csv.")
public final class KaggleCommand implements Callable<Integer> {
    @Mixin
    TrainOptions options = TrainOptions.defaults(10, 64, 0.001f, Path.of("out", "kaggle"));

    @Option(names = "--train", required = true, description = "Kaggle train.csv (label,pixel0..pixel783)")
    Path trainCsv;

    @Option(names = "--test", required = true, description = "Kaggle test.csv (pixel0..pixel783)")
    Path testCsv;

    @Option(names = "--model", description = "linear, mlp or cnn (default: ${DEFAULT-VALUE})")
    String model = "linear";

    @Option(names = "--save", description = "write the trained model to this safetensors file")
    Path save;

    @Override
    public Integer call() throws IOException {
        train(options, trainCsv, testCsv, model, save, System.out);
        return 0;
    }

    /** Trains on an 80/20 split of {@code trainCsv} and writes {@code submission.csv} for {@code testCsv}. */
    public static Training.Result train(
            TrainOptions o, Path trainCsv, Path testCsv, String kind, Path save, PrintStream log) throws IOException {
        Dataset all = KaggleDigits.readTrain(trainCsv);
        Dataset test = KaggleDigits.readTest(testCsv);
        Rng rng = new Rng(o.seed);
        Dataset.Split split = all.randomSplit(0.2, rng.nextLong());
        if (split.train().size() == 0 || split.valid().size() == 0) {
            // An empty part would train on nothing or score 0.00% on nothing, and still write a model.
            throw new IllegalArgumentException(trainCsv + ": " + all.size()
                    + (all.size() == 1 ? " row is" : " rows are")
                    + " too few for the 80/20 train/valid split (a part would be empty; 3 rows at least)");
        }
        Device device = Device.defaultDevice();
        int[] hidden = switch (kind) {
            case "linear" -> new int[0];
            case "mlp" -> new int[] {100};
            case "cnn" -> null;
            default -> throw new IllegalArgumentException("--model must be linear, mlp or cnn, got '" + kind + "'");
        };
        DataLoader train = new DataLoader(split.train(), o.batch).shuffle(rng.nextLong());
        DataLoader valid = new DataLoader(split.valid(), 1000);
        Training.Result r;
        try (Sequential model = hidden == null ? CnnCommand.model(device, rng) : Models.mlp(device, hidden, 0f, rng);
                Adam opt = new Adam(model.parameters(), Adam.Config.lr(o.lr))) {
            log.print(model.summary(Shape.of(o.batch, 1, 28, 28)));
            log.printf(
                    "backend %s, %d train / %d valid / %d test images, batch %d, Adam lr %s%n",
                    device.type(), split.train().size(), split.valid().size(), test.size(), o.batch, o.lr);
            r = o.fit(
                    Training.Config.of(model, opt, train, valid, o.epochs)
                            .withName("kaggle " + kind)
                            .withHeldOut("valid"),
                    device,
                    log);
            Path modelFile = save != null ? save : o.out.resolve("model.safetensors");
            Safetensors.save(
                    model,
                    modelFile,
                    hidden == null
                            ? Map.of("gradus.example", "cnn")
                            : Models.describe(kind.equals("linear") ? "linear" : "mlp", hidden, 0f));
            Training.writeReport(o.out, r, split.valid(), Mnist.CLASS_NAMES, log);
            PredictCommand.predict(modelFile, testCsv, o.out, log);
        }
        return r;
    }
}
