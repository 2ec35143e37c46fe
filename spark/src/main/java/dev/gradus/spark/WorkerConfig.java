package dev.gradus.spark;

import java.io.Serializable;
import java.util.function.Consumer;

/**
 * What every worker of a training job needs to know, shipped to the executors with the task: the architecture
 * ({@code mlp} with its hidden sizes, or {@code cnn}), the optimizer ({@code adam} or {@code sgd}) and rate, the
 * global batch (split evenly over {@code workers}), epochs, seed, where rank 0 writes its checkpoint and how often,
 * the all-reduce timeout, and an optional injected failure for tests.
 *
 * <pre>{@code
 * WorkerConfig c = WorkerConfig.mlp(48, 2).withEpochs(3).withCheckpoint("/shared/ckpt", 100);
 * }</pre>
 */
public record WorkerConfig(
        String model,
        int[] hidden,
        String optimizer,
        float lr,
        int globalBatch,
        int workers,
        int epochs,
        long seed,
        String checkpointDir,
        int checkpointEvery,
        long timeoutMillis,
        int failRank,
        long failStep,
        int attempt)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    public WorkerConfig {
        if (!model.equals("mlp") && !model.equals("cnn")) {
            throw new IllegalArgumentException("model must be mlp or cnn, got '" + model + "'");
        }
        if (!optimizer.equals("adam") && !optimizer.equals("sgd")) {
            throw new IllegalArgumentException("optimizer must be adam or sgd, got '" + optimizer + "'");
        }
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        }
        if (globalBatch < workers || globalBatch % workers != 0) {
            throw new IllegalArgumentException(
                    "the global batch " + globalBatch + " must split evenly over " + workers + " workers");
        }
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        }
        hidden = hidden.clone();
    }

    /** The examples' MLP (784-hidden-10, Adam 0.01, global batch 128, 10 epochs) on {@code workers} workers. */
    public static WorkerConfig mlp(int hiddenUnits, int workers) {
        return new WorkerConfig(
                "mlp", new int[] {hiddenUnits}, "adam", 0.01f, 128, workers, 10, 42, null, 0, 60_000, -1, -1, 0);
    }

    /** The examples' CNN (Adam 0.001, global batch 128, 10 epochs) on {@code workers} workers. */
    public static WorkerConfig cnn(int workers) {
        return new WorkerConfig("cnn", new int[0], "adam", 0.001f, 128, workers, 10, 42, null, 0, 60_000, -1, -1, 0);
    }

    /** Each worker's share of the global batch. */
    public int workerBatch() {
        return globalBatch / workers;
    }

    public WorkerConfig withEpochs(int e) {
        return edit(f -> f.epochs = e);
    }

    public WorkerConfig withOptimizer(String name, float rate) {
        return edit(f -> {
            f.optimizer = name;
            f.lr = rate;
        });
    }

    public WorkerConfig withBatch(int global) {
        return edit(f -> f.globalBatch = global);
    }

    public WorkerConfig withSeed(long s) {
        return edit(f -> f.seed = s);
    }

    /** Rank 0 writes {@code dir/checkpoint.safetensors} every {@code every} steps (0: at epoch ends only). */
    public WorkerConfig withCheckpoint(String dir, int every) {
        return edit(f -> {
            f.checkpointDir = dir;
            f.checkpointEvery = every;
        });
    }

    public WorkerConfig withTimeout(long millis) {
        return edit(f -> f.timeoutMillis = millis);
    }

    /** For tests: worker {@code rank} dies just before global step {@code step} on the job's first attempt. */
    public WorkerConfig withFailure(int rank, long step) {
        return edit(f -> {
            f.failRank = rank;
            f.failStep = step;
        });
    }

    /** The driver's attempt number (0 first), set before each submission of the job. */
    public WorkerConfig withAttempt(int a) {
        return edit(f -> f.attempt = a);
    }

    /** A copy of this config with {@code change} applied to its components (and checked again). */
    private WorkerConfig edit(Consumer<Fields> change) {
        Fields f = new Fields(this);
        change.accept(f);
        return new WorkerConfig(
                f.model,
                f.hidden,
                f.optimizer,
                f.lr,
                f.globalBatch,
                f.workers,
                f.epochs,
                f.seed,
                f.checkpointDir,
                f.checkpointEvery,
                f.timeoutMillis,
                f.failRank,
                f.failStep,
                f.attempt);
    }

    /** The components as mutable fields, so that each {@code with...} method names only what it changes. */
    private static final class Fields {
        final String model;
        final int[] hidden;
        String optimizer;
        float lr;
        int globalBatch;
        final int workers;
        int epochs;
        long seed;
        String checkpointDir;
        int checkpointEvery;
        long timeoutMillis;
        int failRank;
        long failStep;
        int attempt;

        Fields(WorkerConfig c) {
            model = c.model;
            hidden = c.hidden;
            optimizer = c.optimizer;
            lr = c.lr;
            globalBatch = c.globalBatch;
            workers = c.workers;
            epochs = c.epochs;
            seed = c.seed;
            checkpointDir = c.checkpointDir;
            checkpointEvery = c.checkpointEvery;
            timeoutMillis = c.timeoutMillis;
            failRank = c.failRank;
            failStep = c.failStep;
            attempt = c.attempt;
        }
    }
}
