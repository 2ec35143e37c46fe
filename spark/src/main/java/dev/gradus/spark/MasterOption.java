package dev.gradus.spark;

import java.io.IOException;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/**
 * The Spark commands' {@code --master} flag, and the session each runs in ({@link SparkSessions#open}), stopped when
 * the command ends.
 *
 * <pre>{@code master.run("gradus-train", workers, spark -> train(spark, this, System.out));}</pre>
 */
final class MasterOption {
    @Option(
            names = "--master",
            description = "Spark master URL (default: spark-submit's, else local[N], N the workers or partitions)")
    String url;

    /** What a command does in its session. */
    @FunctionalInterface
    interface Work {
        void run(SparkSession spark) throws IOException;
    }

    /** Runs {@code work} in a session named {@code app} for {@code tasks} parallel tasks, then stops the session. */
    void run(String app, int tasks, Work work) throws IOException {
        SparkSession spark = SparkSessions.open(app, url, tasks);
        try {
            work.run(spark);
        } finally {
            spark.stop();
        }
    }
}
