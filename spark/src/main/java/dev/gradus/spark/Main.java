package dev.gradus.spark;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The runnable jar's entry point: {@code train} and {@code predict} on Spark.
 *
 * <pre>{@code java -jar spark/target/gradus-spark-app.jar train --master local[2] --workers 2 --model mlp}</pre>
 */
@Command(
        name = "gradus-spark",
        mixinStandardHelpOptions = true,
        subcommands = {SparkTrainCommand.class, SparkPredictCommand.class},
        description = "Gradus on Apache Spark: data-parallel training and distributed inference.")
public final class Main {
    private Main() {}

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
