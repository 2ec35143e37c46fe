package dev.gradus.examples;

import dev.gradus.spi.Backend;
import dev.gradus.train.MemoryReport;
import dev.gradus.train.Training;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
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
                    + " ~/.gradus/datasets/<name>)")
    public Path data;

    @Option(names = "--out", description = "folder for metrics.json and other outputs (default: ${DEFAULT-VALUE})")
    public Path out;

    @Option(
            names = "--detect-anomaly",
            description = "check every op and gradient for NaN/Inf and stop at the first,"
                    + " naming the op and layer (slow; for debugging)")
    void detectAnomaly(boolean on) {
        dev.gradus.Anomaly.setEnabled(on);
    }

    @Option(
            names = "--memory-report",
            description = "print native, resident and heap memory after every epoch and"
                    + " whether it stayed flat after the first")
    public boolean memoryReport;

    private MemoryReport report;

    /** The listeners these options ask for, made for {@code backend}. */
    public List<Training.Listener> listeners(Backend backend, PrintStream log) {
        if (!memoryReport) {
            return List.of();
        }
        report = new MemoryReport(backend, log);
        return List.of(report);
    }

    /** The memory report of the last run, or null without {@code --memory-report}. */
    public MemoryReport memoryReport() {
        return report;
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
