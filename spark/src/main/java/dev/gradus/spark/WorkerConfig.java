package dev.gradus.spark;

import java.io.Serializable;

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
        return new WorkerConfig(
                model,
                hidden,
                optimizer,
                lr,
                globalBatch,
                workers,
                e,
                seed,
                checkpointDir,
                checkpointEvery,
                timeoutMillis,
                failRank,
                failStep,
                attempt);
    }

    public WorkerConfig withOptimizer(String name, float rate) {
        return new WorkerConfig(
                model,
                hidden,
                name,
                rate,
                globalBatch,
                workers,
                epochs,
                seed,
                checkpointDir,
                checkpointEvery,
                timeoutMillis,
                failRank,
                failStep,
                attempt);
    }

    public WorkerConfig withBatch(int global) {
        return new WorkerConfig(
                model,
                hidden,
                optimizer,
                lr,
                global,
                workers,
                epochs,
                seed,
                checkpointDir,
                checkpointEvery,
                timeoutMillis,
                failRank,
                failStep,
                attempt);
    }

    public WorkerConfig withSeed(long s) {
        return new WorkerConfig(
                model,
                hidden,
                optimizer,
                lr,
                globalBatch,
                workers,
                epochs,
                s,
                checkpointDir,
                checkpointEvery,
                timeoutMillis,
                failRank,
                failStep,
                attempt);
    }

    /** Rank 0 writes {@code dir/checkpoint.safetensors} every {@code every} steps (0: at epoch ends only). */
    public WorkerConfig withCheckpoint(String dir, int every) {
        return new WorkerConfig(
                model,
                hidden,
                optimizer,
                lr,
                globalBatch,
                workers,
                epochs,
                seed,
                dir,
                every,
                timeoutMillis,
                failRank,
                failStep,
                attempt);
    }

    public WorkerConfig withTimeout(long millis) {
        return new WorkerConfig(
                model,
                hidden,
                optimizer,
                lr,
                globalBatch,
                workers,
                epochs,
                seed,
                checkpointDir,
                checkpointEvery,
                millis,
                failRank,
                failStep,
                attempt);
    }

    /** For tests: worker {@code rank} dies just before global step {@code step} on the job's first attempt. */
    public WorkerConfig withFailure(int rank, long step) {
        return new WorkerConfig(
                model,
                hidden,
                optimizer,
                lr,
                globalBatch,
                workers,
                epochs,
                seed,
                checkpointDir,
                checkpointEvery,
                timeoutMillis,
                rank,
                step,
                attempt);
    }

    /** The driver's attempt number (0 first), set before each submission of the job. */
    public WorkerConfig withAttempt(int a) {
        return new WorkerConfig(
                model,
                hidden,
                optimizer,
                lr,
                globalBatch,
                workers,
                epochs,
                seed,
                checkpointDir,
                checkpointEvery,
                timeoutMillis,
                failRank,
                failStep,
                a);
    }
}
