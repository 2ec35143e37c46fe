package dev.gradus.examples;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.GaussianNoise;
import dev.gradus.datasets.Mnist;
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
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The Flux.jl model-zoo CNN on MNIST: three 3x3 convolutions (1->16->32->32, padding 1, relu) each followed by
 * 2x2 max pooling, then flatten 288 -> Dense 10; softmax cross-entropy, Adam 0.001 (a tenth from epoch 8 on, as
 * the model zoo's learning-rate drop), batch 128; Glorot
 * initialisation and zero biases, as Flux; training images get Gaussian noise of std 0.1, as the model zoo's
 * {@code augment}.
 *
 * <pre>{@code Training.Result r = CnnCommand.train(TrainOptions.defaults(1, 128, 0.001f, out), 0.1f, System.out);}</pre>
 */
@Command(
        name = "cnn",
        description = "Train the Flux.jl model-zoo MNIST CNN (3 conv layers, Adam) and report test accuracy.")
public final class CnnCommand implements Callable<Integer> {
    @Mixin
    TrainOptions options = TrainOptions.defaults(10, 128, 0.001f, Path.of("out", "cnn"));

    @Option(
            names = "--noise",
            description = "std of the Gaussian noise added to training images, as the model zoo's"
                    + " augment(x) (default: ${DEFAULT-VALUE}; 0 turns it off)")
    float noise = 0.1f;

    @Override
    public Integer call() throws IOException {
        train(options, noise, System.out);
        return 0;
    }

    /** The model, initialised from {@code rng}. */
    public static Sequential model(Device device, Rng rng) {
        return model(Backends.of(device), rng);
    }

    /** The SPI-level form of {@link #model(Device, Rng)}, for a backend instance a Device cannot name. */
    public static Sequential model(Backend backend, Rng rng) {
        return new Sequential(
                new Conv2d(backend, Conv2d.Config.of(1, 16, 3).withPadding(1), Init.GLOROT, rng),
                new ReLU(),
                new MaxPool2d(2),
                new Conv2d(backend, Conv2d.Config.of(16, 32, 3).withPadding(1), Init.GLOROT, rng),
                new ReLU(),
                new MaxPool2d(2),
                new Conv2d(backend, Conv2d.Config.of(32, 32, 3).withPadding(1), Init.GLOROT, rng),
                new ReLU(),
                new MaxPool2d(2),
                new Flatten(),
                new Dense(backend, 288, 10, true, Init.GLOROT, rng));
    }

    /**
     * Trains and evaluates, printing one line per epoch and writing {@code metrics.json} into {@code out}; training
     * images get Gaussian noise of std {@code noise}.
     */
    public static Training.Result train(TrainOptions o, float noise, PrintStream log) throws IOException {
        Mnist.Splits mnist = o.mnist();
        Device device = Device.defaultDevice();
        Rng rng = new Rng(o.seed);
        DataLoader train = new DataLoader(mnist.train(), o.batch).shuffle(rng.nextLong());
        if (noise > 0) {
            train.transform(new GaussianNoise(noise), rng.nextLong()).prefetch(1);
        }
        DataLoader test = new DataLoader(mnist.test(), 1000);
        Training.Result r;
        try (Sequential model = model(device, rng);
                Adam opt = new Adam(model.parameters(), Adam.Config.lr(o.lr))) {
            o.printSetup(model, device, mnist, "Adam", ", " + model.parameterCount() + " parameters", log);
            // The model zoo drops the learning rate tenfold once progress stalls; a fixed drop after epoch 7 of 10
            // does the same within our budget.
            r = o.fit(Training.Config.of(model, opt, train, test, o.epochs).withName("cnn"), device, log);
        }
        Training.writeReport(o.out, r, mnist.test(), Mnist.CLASS_NAMES, log);
        return r;
    }
}
