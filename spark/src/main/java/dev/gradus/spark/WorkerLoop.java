package dev.gradus.spark;

import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.examples.CnnCommand;
import dev.gradus.examples.Models;
import dev.gradus.io.Checkpoint;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.optim.Optimizer;
import dev.gradus.optim.SGD;
import dev.gradus.optim.StepLR;
import dev.gradus.spark.allreduce.AllReduce;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One worker's epochs over its own shard: the model and optimizer built as the examples build them, resumed from
 * rank 0's last checkpoint when there is one, rank 0's parameters broadcast, then {@code stepsPerEpoch} steps an
 * epoch of {@link DataParallel} on batches of the shard shuffled with this worker's seed, the examples' schedule
 * ({@code StepLR(7, 0.1)}) after each epoch, and rank 0 writing the checkpoint as configured.
 *
 * <pre>{@code WorkerResult r = WorkerLoop.run(config, shard, stepsPerEpoch, comm);}</pre>
 */
public final class WorkerLoop {
    private WorkerLoop() {}

    /** The checkpoint file rank 0 writes in {@code dir}. */
    public static Path checkpointFile(String dir) {
        return Path.of(dir, "checkpoint.safetensors");
    }

    /** The architecture {@code c} names, initialised from {@code rng}. */
    public static Sequential model(WorkerConfig c, Backend backend, Rng rng) {
        return c.model().equals("cnn") ? CnnCommand.model(backend, rng) : Models.mlp(backend, c.hidden(), 0f, rng);
    }

    /** The optimizer {@code c} names over {@code model}'s parameters. */
    public static Optimizer optimizer(WorkerConfig c, Sequential model) {
        return c.optimizer().equals("sgd")
                ? new SGD(model.parameters(), SGD.Config.lr(c.lr()))
                : new Adam(model.parameters(), Adam.Config.lr(c.lr()));
    }

    /** Runs this worker's epochs; {@code stepsPerEpoch} must be the same on every worker. */
    public static WorkerResult run(WorkerConfig c, Dataset shard, int stepsPerEpoch, AllReduce comm) {
        int rank = comm.rank();
        Backend backend = Backends.defaultBackend();
        // Per-worker streams (dropout masks differ between workers); rank 0's initial weights win anyway.
        Rng rng = new Rng(rank == 0 ? c.seed() : c.seed() + 7919L * rank);
        try (Sequential model = model(c, backend, rng);
                Optimizer opt = optimizer(c, model)) {
            StepLR schedule = new StepLR(opt, 7, 0.1f);
            Path ckpt = c.checkpointDir() == null ? null : checkpointFile(c.checkpointDir());
            if (ckpt != null && Files.exists(ckpt)) {
                Checkpoint.load(ckpt, model, opt, schedule);
            }
            DataParallel dp = new DataParallel(model, opt, comm);
            dp.broadcastParameters();
            long start = opt.steps();
            int firstEpoch = (int) (start / stepsPerEpoch);
            int skip = (int) (start % stepsPerEpoch);
            int epochs = Math.max(0, c.epochs() - firstEpoch);
            double[] loss = new double[epochs];
            double[] seconds = new double[epochs];
            long stepNanos = 0;
            long steps = 0;
            for (int e = firstEpoch; e < c.epochs(); e++) {
                model.train();
                long t0 = System.nanoTime();
                DataLoader loader = new DataLoader(shard, c.workerBatch())
                        .shuffle(c.seed() * 1_000_003L + 31L * e + rank)
                        .dropLast(true);
                double sum = 0;
                int done = 0;
                int i = 0;
                try (DataLoader.Epoch epoch = loader.epoch(backend)) {
                    for (DataLoader.Batch b : epoch) {
                        try (b) {
                            if (i >= stepsPerEpoch) {
                                break;
                            }
                            if (i++ < skip) {
                                continue; // done before the checkpoint this run resumed from
                            }
                            injectFailure(c, rank, opt.steps(), comm);
                            long s0 = System.nanoTime();
                            sum += dp.step(b.x(), b.y());
                            stepNanos += System.nanoTime() - s0;
                            steps++;
                            done++;
                            if (rank == 0
                                    && ckpt != null
                                    && c.checkpointEvery() > 0
                                    && opt.steps() % c.checkpointEvery() == 0
                                    && i < stepsPerEpoch) {
                                Checkpoint.save(ckpt, model, opt, schedule);
                            }
                        }
                    }
                }
                skip = 0;
                schedule.step();
                if (rank == 0 && ckpt != null) {
                    Checkpoint.save(ckpt, model, opt, schedule);
                }
                loss[e - firstEpoch] = done == 0 ? Double.NaN : sum / done;
                seconds[e - firstEpoch] = (System.nanoTime() - t0) / 1e9;
                if (rank == 0) { // the executor's log (the console in local mode)
                    System.out.printf(
                            "rank 0: epoch %d of %d, train loss %.4f, %.1f s, step %d%n",
                            e + 1, c.epochs(), loss[e - firstEpoch], seconds[e - firstEpoch], opt.steps());
                }
            }
            byte[] bytes = rank == 0 ? modelBytes(c, model) : null;
            double stepMs = steps == 0 ? 0 : stepNanos / 1e6 / steps;
            double reduceMs = steps == 0 ? 0 : dp.allReduceNanos() / 1e6 / steps;
            return new WorkerResult(rank, firstEpoch, loss, seconds, opt.steps(), stepMs, reduceMs, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("rank " + rank + ": checkpoint " + c.checkpointDir() + ": " + e, e);
        }
    }

    private static void injectFailure(WorkerConfig c, int rank, long step, AllReduce comm) {
        if (c.attempt() == 0 && rank == c.failRank() && step == c.failStep()) {
            comm.close(); // as a killed process: its sockets go away without a word
            throw new IllegalStateException("rank " + rank + " killed at step " + step + " (injected failure)");
        }
    }

    /** {@code model} as the bytes of a safetensors file the examples' {@code predict} reads. */
    static byte[] modelBytes(WorkerConfig c, Sequential model) throws IOException {
        Path tmp = Files.createTempFile("gradus-spark-model", ".safetensors");
        try {
            String example = c.model().equals("cnn") ? "cnn" : "mlp";
            int[] hidden = c.model().equals("cnn") ? new int[0] : c.hidden();
            Safetensors.save(model, tmp, Models.describe(example, hidden, 0f));
            return Files.readAllBytes(tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
