package dev.gradus.examples;

import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Mnist;
import dev.gradus.optim.Adam;
import dev.gradus.optim.OneCycleLR;
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
 * A vision transformer on MNIST ({@link VisionTransformer}): AdamW (weight decay 0.05) with a warmup-then-cosine
 * schedule (one cycle, stepped per batch), batch 128.
 *
 * <pre>{@code Training.Result r = VitCommand.train(TrainOptions.defaults(1, 128, 1e-3f, out), null, System.out);}</pre>
 */
@Command(
        name = "vit",
        description = "Train a small vision transformer (7x7 patches, 4 pre-norm encoder layers) on MNIST.")
public final class VitCommand implements Callable<Integer> {
    @Mixin
    TrainOptions options = TrainOptions.defaults(10, 128, 1e-3f, Path.of("out", "vit"));

    @Option(names = "--save", description = "write the trained model to this safetensors file")
    Path save;

    @Override
    public Integer call() throws IOException {
        train(options, save, System.out);
        return 0;
    }

    /** Trains and evaluates; saves the model to {@code save} (loadable by {@code predict}) when not null. */
    public static Training.Result train(TrainOptions o, Path save, PrintStream log) throws IOException {
        Mnist.Splits mnist = o.mnist();
        Device device = Device.defaultDevice();
        Rng rng = new Rng(o.seed);
        DataLoader train = new DataLoader(mnist.train(), o.batch).shuffle(rng.nextLong());
        DataLoader test = new DataLoader(mnist.test(), 1000);
        Training.Result r;
        try (VisionTransformer model = new VisionTransformer(device, rng);
                Adam opt = new Adam(model.parameters(), Adam.Config.lr(o.lr).withWeightDecay(0.05f, true))) {
            o.printSetup(model, device, mnist, "AdamW", ", one-cycle schedule", log);
            OneCycleLR schedule = new OneCycleLR(opt, o.lr, o.epochs * train.batches());
            r = o.fit(
                    Training.Config.of(model, opt, train, test, o.epochs)
                            .withName("vit")
                            .withSchedule(schedule),
                    device,
                    log);
            TrainOptions.save(model, save, Map.of("gradus.example", "vit"), log);
        }
        Training.writeReport(o.out, r, mnist.test(), Mnist.CLASS_NAMES, log);
        return r;
    }
}
