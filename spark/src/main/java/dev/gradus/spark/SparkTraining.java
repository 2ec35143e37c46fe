package dev.gradus.spark;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;

/**
 * Synchronous data-parallel training as a Spark job: the rows, one partition per worker, go through a barrier stage
 * (all workers start together, or none) running {@link TrainWorker}. When the stage fails (a worker died, a peer
 * timed out) the job is submitted again, up to {@code maxAttempts} times, and resumes from rank 0's last checkpoint;
 * the checkpoint is deleted once the job has finished.
 *
 * <pre>{@code
 * WorkerConfig c = WorkerConfig.mlp(48, 2).withCheckpoint(dir, 100);
 * SparkTraining.Outcome o = SparkTraining.fit(rows, new int[] {1, 28, 28}, 10, c, 3, System.out);
 * Files.write(Path.of("mlp.safetensors"), o.model());
 * }</pre>
 */
public final class SparkTraining {
    private SparkTraining() {}

    /**
     * A finished run: every worker's report from the attempt that finished, the number of attempts it took, and the
     * failures of the earlier ones.
     */
    public record Outcome(List<WorkerResult> workers, int attempts, List<String> failures) {
        /** Rank 0's report. */
        public WorkerResult rank0() {
            return workers.get(0);
        }

        /** The trained model, a safetensors file's bytes (rank 0's, identical on every worker). */
        public byte[] model() {
            return rank0().model();
        }

        /** Each epoch's mean training loss; null for epochs finished before the attempt that resumed. */
        public List<Double> epochLoss() {
            return perEpoch(rank0().epochLoss());
        }

        /** Each epoch's seconds; null for epochs finished before the attempt that resumed. */
        public List<Double> epochSeconds() {
            return perEpoch(rank0().epochSeconds());
        }

        private List<Double> perEpoch(double[] values) {
            List<Double> out = new ArrayList<>();
            for (int i = 0; i < rank0().firstEpoch(); i++) {
                out.add(null);
            }
            for (double v : values) {
                out.add(v);
            }
            return out;
        }
    }

    /**
     * Trains on {@code rows} ({@code label int, features array<float>} of {@code itemShape}) as {@code config}
     * says, retrying a failed stage up to {@code maxAttempts} times in all.
     *
     * @throws IllegalStateException with the last failure when every attempt failed
     */
    public static Outcome fit(
            JavaRDD<Row> rows, int[] itemShape, int classes, WorkerConfig config, int maxAttempts, PrintStream log) {
        JavaRDD<Row> parts = rows.getNumPartitions() == config.workers() ? rows : rows.repartition(config.workers());
        List<String> failures = new ArrayList<>();
        for (int attempt = 0; attempt < maxAttempts; attempt++) {
            WorkerConfig c = config.withAttempt(attempt);
            try {
                List<WorkerResult> results =
                        new ArrayList<>(TrainWorker.barrierStage(parts, new TrainWorker(c, itemShape, classes))
                                .collect());
                results.sort(Comparator.comparingInt(WorkerResult::rank));
                if (config.checkpointDir() != null) {
                    // Finished: the next run with this folder starts afresh instead of "resuming" a finished run.
                    // Best effort: on a cluster the driver may not see the shared folder.
                    try {
                        Files.deleteIfExists(WorkerLoop.checkpointFile(config.checkpointDir()));
                    } catch (IOException e) {
                        log.println("could not delete the finished run's checkpoint: " + e);
                    }
                }
                return new Outcome(List.copyOf(results), attempt + 1, List.copyOf(failures));
            } catch (Exception e) { // SparkException: a task failed and the barrier stage with it
                String why = rootMessage(e);
                failures.add(why);
                log.printf(
                        "attempt %d of %d failed: %s%s%n",
                        attempt + 1,
                        maxAttempts,
                        why,
                        attempt + 1 < maxAttempts
                                ? (config.checkpointDir() == null
                                        ? "; starting again (no checkpoint directory)"
                                        : "; resuming from the last checkpoint")
                                : "");
            }
        }
        throw new IllegalStateException(
                "training failed " + maxAttempts + " times; last: " + failures.get(failures.size() - 1));
    }

    /**
     * What went wrong, in one line: Spark's first line, and the first exception line from a task (the task's own
     * error, which Spark puts into its message or a cause, never at the top).
     */
    static String rootMessage(Throwable e) {
        String first = null;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage() == null ? t.toString() : t.getMessage();
            for (String line : m.lines().toList()) {
                if (first == null) {
                    first = line;
                } else if (line.matches("^[\\w.$]+(Exception|Error): .*") && !line.contains("SparkException")) {
                    return first + " [" + line.trim() + "]";
                }
            }
            if (t != e && t.getCause() == null && !(t.getMessage() == null)) {
                return first + " [" + t.getClass().getName() + ": "
                        + t.getMessage().lines().findFirst().orElse("") + "]";
            }
        }
        return first;
    }
}
