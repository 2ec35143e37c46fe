package dev.gradus.spark;

import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.Idx;
import dev.gradus.datasets.KaggleDigits;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Classifies the images of an IDX file as a Spark data set (one row per image, {@code --partitions} partitions)
 * with a saved model, and writes Kaggle's {@code submission.csv} as the examples' {@code predict} does.
 *
 * <pre>{@code int[] labels = SparkPredictCommand.predict(spark, model, input, out, 2, System.out);}</pre>
 */
@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = "Classify an IDX image file as a Spark data set with a saved model; write submission.csv.")
public final class SparkPredictCommand implements Callable<Integer> {
    @Mixin
    MasterOption master = new MasterOption();

    @Option(names = "--model", required = true, description = "a .safetensors file written with --save")
    Path model;

    @Option(names = "--input", required = true, description = "an IDX file of [n, 28, 28] images")
    Path input;

    @Option(names = "--out", description = "folder for submission.csv (default: ${DEFAULT-VALUE})")
    Path out = Path.of("out", "spark-predict");

    @Option(names = "--partitions", description = "partitions of the data set (default: ${DEFAULT-VALUE})")
    int partitions = 2;

    @Override
    public Integer call() throws IOException {
        master.run("gradus-predict", partitions, spark -> predict(spark, model, input, out, partitions, System.out));
        return 0;
    }

    /** Each image's predicted class, in file order, also written to {@code out/submission.csv}. */
    public static int[] predict(
            SparkSession spark, Path modelFile, Path input, Path out, int partitions, PrintStream log)
            throws IOException {
        Idx.Array a = Idx.read(input);
        if (a.dims().length != 3) {
            throw new IllegalArgumentException(
                    input + ": expected IDX images [n, rows, cols], got " + Arrays.toString(a.dims()));
        }
        Dataset images = Dataset.unlabeled(
                input.getFileName().toString(), a.toFloats(1f / 255f), new int[] {1, a.dims()[1], a.dims()[2]}, 10);
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        org.apache.spark.sql.Dataset<Row> rows =
                spark.createDataFrame(jsc.parallelize(Rows.identified(images), partitions), Rows.IDENTIFIED);
        List<Row> scored = ModelScorer.predict(spark, rows, "features", Files.readAllBytes(modelFile), 1000)
                .select("id", "prediction")
                .collectAsList();
        int[] preds = new int[images.size()];
        Arrays.fill(preds, -1);
        for (Row r : scored) {
            preds[(int) r.getLong(0)] = r.getInt(1);
        }
        for (int i = 0; i < preds.length; i++) {
            if (preds[i] < 0) {
                throw new IllegalStateException("image " + i + " of " + input + " came back without a prediction");
            }
        }
        Path file = out.resolve("submission.csv");
        KaggleDigits.writeSubmission(file, preds);
        log.printf(
                "%d predictions from %s over %d partitions written to %s%n", preds.length, modelFile, partitions, file);
        return preds;
    }
}
