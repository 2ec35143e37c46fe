package dev.gradus.examples;

import dev.gradus.Anomaly;
import dev.gradus.Device;
import dev.gradus.Shape;
import dev.gradus.datasets.FashionMnist;
import dev.gradus.datasets.Mnist;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.Module;
import dev.gradus.optim.StepLR;
import dev.gradus.train.MemoryReport;
import dev.gradus.train.Training;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** The flags every training example takes. */
public final class TrainOptions {
    @Option(names = "--epochs", description = "passes over the training set (default: ${DEFAULT-VALUE})")
    public int epochs;

    @Option(names = "--batch", description = "batch size (default: ${DEFAULT-VALUE})")
    public int batch;

    @Option(names = "--lr", description = "learning rate (default: ${DEFAULT-VALUE})")
    public float lr;

    @Option(names = "--seed", description = "random seed for initialisation and shuffling (default: ${DEFAULT-VALUE})")
    public long seed = 42;

    @Option(
            names = "--data",
            description = "folder holding the data set files (default: $GRADUS_DATA/<name>, then"
                    + " ~/.gradus/datasets/<name>, where a missing data set is downloaded)")
    public Path data;

    @Option(
            names = "--offline",
            description = "never download a missing data set (also GRADUS_OFFLINE=1); without it, missing files"
                    + " are fetched from the public mirrors or GRADUS_DATASETS_MIRROR")
    public boolean offline;

    @Option(names = "--out", description = "folder for metrics.json and other outputs (default: ${DEFAULT-VALUE})")
    public Path out;

    @Option(
            names = "--detect-anomaly",
            description = "check every op and gradient for NaN/Inf and stop at the first,"
                    + " naming the op and layer (slow; for debugging)")
    void detectAnomaly(boolean on) {
        Anomaly.setEnabled(on);
    }

    @Option(
            names = "--memory-report",
            description = "print native, resident and heap memory after every epoch and"
                    + " whether it stayed flat after the first")
    public boolean memoryReport;

    private MemoryReport report;

    /** The listeners these options ask for, made for {@code device}. */
    public List<Training.Listener> listeners(Device device, PrintStream log) {
        if (!memoryReport) {
            return List.of();
        }
        report = new MemoryReport(device, log);
        return List.of(report);
    }

    /** The memory report of the last run, or null without {@code --memory-report}. */
    public MemoryReport memoryReport() {
        return report;
    }

    /**
     * Runs {@code config} with what every example shares: the last epochs at a tenth of the rate
     * ({@code StepLR(7, 0.1)}) unless the config brings its own schedule (vit's warmup-cosine), {@code device},
     * {@code log} and the listeners these options ask for; then prints the memory verdict when asked for.
     */
    Training.Result fit(Training.Config config, Device device, PrintStream log) {
        Training.Config scheduled =
                config.schedule() != null ? config : config.withSchedule(new StepLR(config.optimizer(), 7, 0.1f));
        Training.Result r =
                Training.fit(scheduled.withDevice(device).withLog(log).withListeners(listeners(device, log)));
        finish();
        return r;
    }

    /** MNIST from {@code --data} or the default places, downloaded first when missing and not offline. */
    Mnist.Splits mnist() throws IOException {
        return Mnist.load(data, !offline);
    }

    /** As {@link #mnist()} for Fashion-MNIST. */
    Mnist.Splits fashionMnist() throws IOException {
        return FashionMnist.load(data, !offline);
    }

    /**
     * Prints {@code model}'s summary for a batch of 28x28 images and one line naming the device, the split sizes,
     * the batch and the rate; {@code optimizer} names the optimizer and {@code extra} ends the line.
     *
     * <pre>{@code o.printSetup(model, device, mnist, "Adam", "", log);}</pre>
     */
    void printSetup(Module model, Device device, Mnist.Splits data, String optimizer, String extra, PrintStream log) {
        log.print(model.summary(Shape.of(batch, 1, 28, 28)));
        log.printf(
                "backend %s, %d train / %d test images, batch %d, %s lr %s%s%n",
                device.type(), data.train().size(), data.test().size(), batch, optimizer, lr, extra);
    }

    /** Writes {@code model} to {@code save} with {@code metadata} and says so; nothing when {@code save} is null. */
    static void save(Module model, Path save, Map<String, String> metadata, PrintStream log) throws IOException {
        if (save != null) {
            Safetensors.save(model, save, metadata);
            log.println("model saved to " + save);
        }
    }

    /** Prints the memory verdict when asked for. */
    void finish() {
        if (report != null) {
            report.printVerdict();
        }
    }

    /** Options with the given defaults. */
    public static TrainOptions defaults(int epochs, int batch, float lr, Path out) {
        TrainOptions o = new TrainOptions();
        o.epochs = epochs;
        o.batch = batch;
        o.lr = lr;
        o.out = out;
        return o;
    }
}
