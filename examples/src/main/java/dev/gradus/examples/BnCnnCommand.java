package dev.gradus.examples;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Mnist;
import dev.gradus.datasets.Normalize;
import dev.gradus.datasets.RandomAffine;
import dev.gradus.datasets.Transform;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
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
 * The PyTorch notebook's BatchNorm CNN on MNIST: [conv 3x3 1->16 pad 1, relu, BatchNorm2d, max pool 2],
 * [conv 3x3 16->32 pad 1, relu, BatchNorm2d, max pool 2], Linear 1568->256, relu, BatchNorm1d, Linear 256->10;
 * inputs normalised with mean 0.1307 / std 0.3081; Adam 0.001 with StepLR(7, 0.1), batch 128. {@code --augment}
 * adds the notebook's rotation/zoom/shift augmentation.
 */
@Command(name = "bn-cnn", description = "Train the PyTorch notebook's BatchNorm CNN on MNIST and report test accuracy.")
public final class BnCnnCommand implements Callable<Integer> {
    @Mixin
    TrainOptions options = TrainOptions.defaults(10, 128, 0.001f, Path.of("out", "bn-cnn"));

    @Option(
            names = "--augment",
            description = "random rotation 10 deg, zoom 0.1, shifts 0.1 (Keras ImageDataGenerator)")
    boolean augment;

    @Option(names = "--save", description = "write the trained model to this safetensors file")
    Path save;

    @Override
    public Integer call() throws IOException {
        train(options, augment, save, System.out);
        return 0;
    }

    /** The model, initialised from {@code rng}. */
    public static Sequential model(Device device, Rng rng) {
        return model(Backends.of(device), rng);
    }

    /** The SPI-level form of {@link #model(Device, Rng)}, for a backend instance a Device cannot name. */
    public static Sequential model(Backend backend, Rng rng) {
        return new Sequential(
                new Conv2d(backend, Conv2d.Config.of(1, 16, 3).withPadding(1), rng),
                new ReLU(),
                new BatchNorm2d(backend, BatchNorm2d.Config.of(16)),
                new MaxPool2d(2),
                new Conv2d(backend, Conv2d.Config.of(16, 32, 3).withPadding(1), rng),
                new ReLU(),
                new BatchNorm2d(backend, BatchNorm2d.Config.of(32)),
                new MaxPool2d(2),
                new Flatten(),
                new Dense(backend, 1568, 256, true, Init.PYTORCH, rng),
                new ReLU(),
                new BatchNorm1d(backend, BatchNorm1d.Config.of(256)),
                new Dense(backend, 256, 10, true, Init.PYTORCH, rng));
    }

    /** Trains and evaluates, printing one line per epoch and writing {@code metrics.json} into {@code out}. */
    public static Training.Result train(TrainOptions o, boolean augment, PrintStream log) throws IOException {
        return train(o, augment, null, log);
    }

    /** As above, saving the trained model to {@code save} (safetensors) when not null. */
    public static Training.Result train(TrainOptions o, boolean augment, Path save, PrintStream log)
            throws IOException {
        Mnist.Splits mnist = o.mnist();
        Device device = Device.defaultDevice();
        Rng rng = new Rng(o.seed);
        Normalize norm = Normalize.of(0.1307f, 0.3081f);
        Transform trainTransform = augment ? new RandomAffine(10, 0.1f, 0.1f, 0.1f).andThen(norm) : norm;
        DataLoader train = new DataLoader(mnist.train(), o.batch)
                .shuffle(rng.nextLong())
                .transform(trainTransform, rng.nextLong())
                .prefetch(augment ? 2 : 0);
        DataLoader test = new DataLoader(mnist.test(), 1000).transform(norm);
        Training.Result r;
        try (Sequential model = model(device, rng);
                Adam opt = new Adam(model.parameters(), Adam.Config.lr(o.lr))) {
            String extra = ", " + model.parameterCount() + " parameters" + (augment ? ", augmented" : "");
            o.printSetup(model, device, mnist, "Adam", extra, log);
            // The notebook's StepLR(step_size=7, gamma=0.1): the last epochs settle at a tenth of the rate.
            r = o.fit(Training.Config.of(model, opt, train, test, o.epochs).withName("bn-cnn"), device, log);
            TrainOptions.save(model, save, Map.of("gradus.example", "bn-cnn"), log);
        }
        Training.writeReport(o.out, r, mnist.test(), Mnist.CLASS_NAMES, log);
        return r;
    }
}
