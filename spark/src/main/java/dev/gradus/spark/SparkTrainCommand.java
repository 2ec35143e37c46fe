package dev.gradus.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.gradus.Backends;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Mnist;
import dev.gradus.examples.Models;
import dev.gradus.io.AtomicFiles;
import dev.gradus.nn.Module;
import dev.gradus.spi.Backend;
import dev.gradus.train.Evaluation;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Trains the examples' {@code mlp} or {@code cnn} on MNIST with {@code --workers} data-parallel workers in a Spark
 * barrier stage, then evaluates the model on the test set, writes {@code metrics.json} and, with {@code --save},
 * the model (which the examples' {@code predict} and this jar's {@code predict} read).
 *
 * <pre>{@code SparkTrainCommand.Result r = SparkTrainCommand.train(spark, options, System.out);}</pre>
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = "Train mlp or cnn on MNIST with N data-parallel Spark workers; write metrics.json.")
public final class SparkTrainCommand implements Callable<Integer> {
    @Mixin
    MasterOption master = new MasterOption();

    @Option(names = "--workers", description = "data-parallel workers, one Spark task each (default: ${DEFAULT-VALUE})")
    int workers = 2;

    @Option(names = "--model", description = "mlp or cnn (default: ${DEFAULT-VALUE})")
    String model = "mlp";

    @Option(names = "--hidden", description = "the mlp's hidden units (default: ${DEFAULT-VALUE})")
    int hidden = 48;

    @Option(names = "--epochs", description = "passes over the training set (default: ${DEFAULT-VALUE})")
    int epochs = 10;

    @Option(names = "--batch", description = "global batch, split evenly over the workers (default: ${DEFAULT-VALUE})")
    int batch = 128;

    @Option(names = "--lr", description = "Adam's learning rate (default: 0.01 for mlp, 0.001 for cnn)")
    Float lr;

    @Option(names = "--seed", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = "--data", description = "folder holding MNIST (default: $GRADUS_DATA/mnist, then ~/.gradus)")
    Path data;

    @Option(names = "--offline", description = "never download a missing data set")
    boolean offline;

    @Option(names = "--out", description = "folder for metrics.json (default: out/spark-<model>)")
    Path out;

    @Option(names = "--save", description = "write the trained model to this safetensors file")
    Path save;

    @Option(
            names = "--checkpoint",
            description = "folder rank 0 writes its checkpoint to, on storage every worker reads (default:"
                    + " <out>/checkpoint); a run finds it and resumes")
    Path checkpoint;

    @Option(names = "--checkpoint-every", description = "steps between checkpoints (default: ${DEFAULT-VALUE})")
    int checkpointEvery = 100;

    @Option(names = "--max-attempts", description = "submissions of the barrier stage (default: ${DEFAULT-VALUE})")
    int maxAttempts = 3;

    @Option(names = "--timeout", description = "seconds a worker waits for a peer (default: ${DEFAULT-VALUE})")
    int timeoutSeconds = 60;

    /** What a run produced: the outcome of the Spark job, the test accuracy and where the outputs went. */
    public record Result(SparkTraining.Outcome outcome, double testAccuracy, Path out) {}

    @Override
    public Integer call() throws IOException {
        master.run("gradus-train", workers, spark -> train(spark, this, System.out));
        return 0;
    }

    /** The options for a run of {@code model} on {@code workers} workers writing into {@code out}. */
    public static SparkTrainCommand options(String model, int workers, int epochs, Path out) {
        SparkTrainCommand o = new SparkTrainCommand();
        o.model = model;
        o.workers = workers;
        o.epochs = epochs;
        o.out = out;
        return o;
    }

    /** Sets the data folder, offline; returns this. */
    public SparkTrainCommand data(Path dir) {
        this.data = dir;
        this.offline = true;
        return this;
    }

    /** The worker settings these options describe. */
    public WorkerConfig config() {
        Path o = output();
        WorkerConfig c = model.equals("cnn") ? WorkerConfig.cnn(workers) : WorkerConfig.mlp(hidden, workers);
        float rate = lr != null ? lr : c.lr();
        Path ck = checkpoint != null ? checkpoint : o.resolve("checkpoint");
        return c.withEpochs(epochs)
                .withBatch(batch)
                .withSeed(seed)
                .withOptimizer("adam", rate)
                .withCheckpoint(ck.toAbsolutePath().toString(), checkpointEvery)
                .withTimeout(timeoutSeconds * 1000L);
    }

    /** As {@link #config()} with a test's injected failure: rank {@code rank} dies before global step {@code step}. */
    public WorkerConfig config(int rank, long step) {
        return config().withFailure(rank, step);
    }

    private Path output() {
        return out != null ? out : Path.of("out", "spark-" + model);
    }

    /** Trains in {@code spark} as these options say. */
    public static Result train(SparkSession spark, SparkTrainCommand o, PrintStream log) throws IOException {
        return train(spark, o, o.config(), log);
    }

    /** Trains in {@code spark} with {@code config} (the options' own, or one with an injected failure). */
    public static Result train(SparkSession spark, SparkTrainCommand o, WorkerConfig config, PrintStream log)
            throws IOException {
        Mnist.Splits mnist = Mnist.load(o.data, !o.offline);
        Path out = o.output();
        Files.createDirectories(out);
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        JavaRDD<Row> rows = jsc.parallelize(Rows.labeled(mnist.train()), config.workers());
        log.printf(
                "%s on %d workers (%s), global batch %d (%d a worker), Adam lr %s, %d epochs, checkpoint in %s%n",
                config.model(),
                config.workers(),
                spark.sparkContext().master(),
                config.globalBatch(),
                config.workerBatch(),
                config.lr(),
                config.epochs(),
                config.checkpointDir());
        long t0 = System.nanoTime();
        SparkTraining.Outcome r = SparkTraining.fit(rows, new int[] {1, 28, 28}, 10, config, o.maxAttempts, log);
        double seconds = (System.nanoTime() - t0) / 1e9;
        Backend backend = Backends.defaultBackend();
        Path file = o.save != null ? o.save : out.resolve("model.safetensors");
        if (file.toAbsolutePath().getParent() != null) {
            Files.createDirectories(file.toAbsolutePath().getParent());
        }
        AtomicFiles.write(file, s -> s.write(r.model()));
        Evaluation.Outcome eval;
        try (Module m = Models.load(file, backend).model()) {
            eval = Evaluation.evaluate(m, new DataLoader(mnist.test(), 1000), backend);
        }
        log.printf(
                "test accuracy %.2f%% after %d steps, %.1f s, %d attempt(s); step %.2f ms of which all-reduce %.2f ms%n",
                eval.accuracy() * 100,
                r.rank0().steps(),
                seconds,
                r.attempts(),
                r.rank0().stepMillis(),
                r.rank0().allReduceMillis());
        if (o.save != null) {
            log.println("model saved to " + o.save);
        }
        writeMetrics(out, config, r, eval.accuracy(), seconds, backend);
        return new Result(r, eval.accuracy(), out);
    }

    private static void writeMetrics(
            Path out, WorkerConfig c, SparkTraining.Outcome r, double accuracy, double seconds, Backend backend)
            throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", c.model().equals("cnn") ? "cnn" : "mlp 784-" + c.hidden()[0] + "-10");
        m.put("backend", backend.name());
        m.put("workers", c.workers());
        m.put("global_batch", c.globalBatch());
        m.put("test_accuracy", accuracy);
        m.put("epoch_seconds", r.epochSeconds());
        m.put("train_loss", r.epochLoss());
        m.put("steps", r.rank0().steps());
        m.put("step_ms", r.rank0().stepMillis());
        m.put("allreduce_ms", r.rank0().allReduceMillis());
        m.put("attempts", r.attempts());
        m.put("failures", r.failures());
        m.put("seconds", seconds);
        byte[] json =
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(m);
        AtomicFiles.write(out.resolve("metrics.json"), s -> s.write(json));
    }
}
