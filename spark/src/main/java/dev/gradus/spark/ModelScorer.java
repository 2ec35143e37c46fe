package dev.gradus.spark;

import dev.gradus.Backends;
import dev.gradus.GradMode;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.datasets.Normalize;
import dev.gradus.examples.Models;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Scores a Spark data set with a saved Gradus model: the model file is broadcast once, loaded once per executor
 * JVM (its task threads share it: evaluation under no-grad is thread-safe), and each partition's rows are batched
 * through it; the result is the input with a {@code prediction} column (the arg-max class) added.
 *
 * <pre>{@code
 * Dataset<Row> scored = ModelScorer.predict(spark, images, "features", Files.readAllBytes(model), 1000);
 * scored.select("id", "prediction").show();
 * }</pre>
 */
public final class ModelScorer {
    private ModelScorer() {}

    /** Models loaded in this JVM, by broadcast id: one per model per executor. */
    private static final ConcurrentHashMap<Long, Models.Saved> LOADED = new ConcurrentHashMap<>();

    /**
     * {@code rows} with an {@code int prediction} column: the class {@code model} (a safetensors file's bytes, as
     * {@code --save} writes) gives each row's {@code featuresColumn} (an array of floats, one image's pixels in
     * [0, 1]), scored in batches of {@code batch} rows per partition.
     */
    public static Dataset<Row> predict(
            SparkSession spark, Dataset<Row> rows, String featuresColumn, byte[] model, int batch) {
        if (batch < 1) {
            throw new IllegalArgumentException("ModelScorer: batch must be >= 1, got " + batch);
        }
        Broadcast<byte[]> file =
                spark.sparkContext().broadcast(model, scala.reflect.ClassTag$.MODULE$.apply(byte[].class));
        StructType out = rows.schema().add("prediction", DataTypes.IntegerType, false);
        int column = rows.schema().fieldIndex(featuresColumn);
        return rows.mapPartitions(new Scorer(file, column, batch), Encoders.row(out));
    }

    /** The model {@code file} holds, loaded at most once in this JVM. */
    static Models.Saved loaded(Broadcast<byte[]> file) {
        return LOADED.computeIfAbsent(file.id(), id -> {
            try {
                Path tmp = Files.createTempFile("gradus-model-" + id, ".safetensors");
                try {
                    Files.write(tmp, file.value());
                    return Models.load(tmp, Backends.defaultBackend());
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("loading the broadcast model " + id + ": " + e.getMessage(), e);
            }
        });
    }

    /** How many models this JVM has loaded (for tests: one per broadcast, however many tasks ran). */
    public static int loadedModels() {
        return LOADED.size();
    }

    /** One partition's scoring: rows in, the same rows with their prediction out, {@code batch} at a time. */
    private static final class Scorer implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<byte[]> file;
        private final int column;
        private final int batch;

        Scorer(Broadcast<byte[]> file, int column, int batch) {
            this.file = file;
            this.column = column;
            this.batch = batch;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            Models.Saved saved = loaded(file);
            float[] norm = Models.normalization(saved.meta());
            Backend backend = Backends.defaultBackend();
            return new Iterator<>() {
                private Iterator<Row> ready = List.<Row>of().iterator();

                @Override
                public boolean hasNext() {
                    if (!ready.hasNext() && input.hasNext()) {
                        ready = next(input).iterator();
                    }
                    return ready.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return ready.next();
                }

                private List<Row> next(Iterator<Row> in) {
                    List<Row> rows = new ArrayList<>(batch);
                    List<float[]> xs = new ArrayList<>(batch);
                    while (in.hasNext() && rows.size() < batch) {
                        Row r = in.next();
                        rows.add(r);
                        xs.add(Rows.floats(r.get(column)));
                    }
                    int[] classes = classify(saved, backend, xs, norm);
                    List<Row> out = new ArrayList<>(rows.size());
                    for (int i = 0; i < rows.size(); i++) {
                        Row r = rows.get(i);
                        Object[] values = new Object[r.length() + 1];
                        for (int k = 0; k < r.length(); k++) {
                            values[k] = r.get(k);
                        }
                        values[r.length()] = classes[i];
                        out.add(RowFactory.create(values));
                    }
                    return out;
                }
            };
        }
    }

    /** The arg-max class of each image in {@code xs} (all the same length, a square single-channel image). */
    static int[] classify(Models.Saved saved, Backend backend, List<float[]> xs, float[] norm) {
        int per = xs.get(0).length;
        int side = (int) Math.round(Math.sqrt(per));
        if (side * side != per) {
            throw new IllegalArgumentException("features of " + per + " floats are not a square image");
        }
        float[] flat = new float[xs.size() * per];
        for (int i = 0; i < xs.size(); i++) {
            float[] x = xs.get(i);
            if (x.length != per) {
                throw new IllegalArgumentException(
                        "row " + i + " of a batch has " + x.length + " features, not " + per);
            }
            System.arraycopy(x, 0, flat, i * per, per);
            if (norm != null) { // as predict's loader: the same transform, so the same floats
                Normalize.of(norm[0], norm[1]).apply(flat, i * per, new int[] {1, side, side}, null);
            }
        }
        try (GradMode ng = GradMode.noGrad();
                Scope s = Scope.open()) {
            Tensor x = Tensor.of(backend, flat, xs.size(), 1, side, side);
            return saved.model().forward(x).argmax(1).toIntArray();
        }
    }
}
