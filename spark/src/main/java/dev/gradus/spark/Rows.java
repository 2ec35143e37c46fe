package dev.gradus.spark;

import dev.gradus.datasets.Dataset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Images as Spark rows and back: {@code (label int, features array<float>)} for training, {@code (id long, features
 * array<float>)} for scoring; features are an image's pixels, row-major ({@code 784} for MNIST, in [0, 1]).
 *
 * <pre>{@code
 * List<Row> rows = Rows.labeled(mnist.train());                 // 60,000 rows
 * Dataset shard = Rows.toDataset("shard", rows.iterator(), new int[] {1, 28, 28}, 10);
 * }</pre>
 */
public final class Rows {
    private Rows() {}

    /** The training schema: {@code label int, features array<float>}. */
    public static final StructType LABELED = new StructType()
            .add("label", DataTypes.IntegerType, false)
            .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), false);

    /** The scoring schema: {@code id long, features array<float>}. */
    public static final StructType IDENTIFIED = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), false);

    /** One {@code (label, features)} row per example of {@code data}. */
    public static List<Row> labeled(Dataset data) {
        return rows(data, i -> data.labels()[i]);
    }

    /** One {@code (id, features)} row per example of {@code data}, ids 0 to n - 1 in order. */
    public static List<Row> identified(Dataset data) {
        return rows(data, i -> (long) i);
    }

    /** One {@code (key(i), features)} row per example {@code i} of {@code data}. */
    private static List<Row> rows(Dataset data, IntFunction<Object> key) {
        int per = data.itemSize();
        List<Row> rows = new ArrayList<>(data.size());
        for (int i = 0; i < data.size(); i++) {
            float[] f = new float[per];
            System.arraycopy(data.features(), i * per, f, 0, per);
            rows.add(RowFactory.create(key.apply(i), f));
        }
        return rows;
    }

    /**
     * A labelled data set of the {@code (label, features)} rows of {@code rows}, each {@code itemShape} in size.
     *
     * @throws IllegalArgumentException naming the row whose features have the wrong length
     */
    public static Dataset toDataset(String name, Iterator<Row> rows, int[] itemShape, int classes) {
        int per = 1;
        for (int d : itemShape) {
            per *= d;
        }
        FloatList features = new FloatList();
        List<Integer> labels = new ArrayList<>();
        int n = 0;
        while (rows.hasNext()) {
            Row r = rows.next();
            // Rows made with RowFactory carry no schema: label first, features second, as LABELED says.
            boolean named = r.schema() != null;
            float[] f = floats(r.get(named ? r.fieldIndex("features") : 1));
            if (f.length != per) {
                throw new IllegalArgumentException(
                        name + ": row " + n + " has " + f.length + " features, expected " + per);
            }
            features.add(f);
            labels.add(r.getInt(named ? r.fieldIndex("label") : 0));
            n++;
        }
        int[] y = labels.stream().mapToInt(Integer::intValue).toArray();
        return new Dataset(name, features.toArray(), y, itemShape, classes);
    }

    /**
     * A row's features as floats, whichever way Spark hands the array over: the {@code float[]} a row was built
     * with, a Java list, or a Scala sequence (rows read back from a DataFrame).
     */
    public static float[] floats(Object v) {
        if (v instanceof float[] f) {
            return f;
        }
        if (v instanceof List<?> list) {
            float[] f = new float[list.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = ((Number) list.get(i)).floatValue();
            }
            return f;
        }
        if (v instanceof scala.collection.Seq<?> seq) {
            float[] f = new float[seq.size()];
            scala.collection.Iterator<?> it = seq.iterator();
            for (int i = 0; i < f.length; i++) {
                f[i] = ((Number) it.next()).floatValue();
            }
            return f;
        }
        throw new IllegalArgumentException("features must be an array of floats, got "
                + (v == null ? "null" : v.getClass().getName()));
    }

    /** A growable float array. */
    private static final class FloatList {
        private float[] data = new float[1 << 16];
        private int size;

        void add(float[] f) {
            if (size + f.length > data.length) {
                data = Arrays.copyOf(data, Math.max(data.length * 2, size + f.length));
            }
            System.arraycopy(f, 0, data, size, f.length);
            size += f.length;
        }

        float[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
