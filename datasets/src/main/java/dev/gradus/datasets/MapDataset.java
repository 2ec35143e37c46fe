package dev.gradus.datasets;

import java.util.function.IntFunction;

/**
 * A data set read one example at a time, as PyTorch's map-style {@code torch.utils.data.Dataset}: {@link #size()}
 * and {@link #get(int)}, so the data need not fit in memory. A {@link DataLoader} over it shuffles, transforms and
 * prefetches as over an in-memory {@link Dataset} (with {@code prefetch}, {@code get} runs on the loader's thread).
 *
 * <p>Targets are class indices (batches get {@code y [B]} INT32; {@link #targetShape()} is null) or float targets
 * of a fixed shape (regression, multi-label, soft labels: {@code y [B, ...targetShape]} FLOAT32).
 *
 * <pre>{@code
 * MapDataset images = MapDataset.classes(files.size(), new int[] {1, 28, 28}, i -> decode(files.get(i)));
 * DataLoader loader = new DataLoader(images, 64).shuffle(42).prefetch(2);
 * }</pre>
 */
public interface MapDataset {
    /** Number of examples. */
    int size();

    /** Example {@code i}, {@code 0 <= i < size()}. */
    Example get(int i);

    /** The shape of one example's features, e.g. {@code [1, 28, 28]}. */
    int[] itemShape();

    /** The shape of one float target, e.g. {@code [1]} ({@code []}: one number); null when targets are class indices. */
    int[] targetShape();

    /** False for a set without targets (a Kaggle {@code test.csv}). */
    default boolean labeled() {
        return true;
    }

    /** A name for messages. */
    default String name() {
        return getClass().getSimpleName();
    }

    /**
     * One example: {@code x} (the features, row-major) and either a class {@code label} ({@code target} null) or
     * a float {@code target}.
     */
    record Example(float[] x, int label, float[] target) {
        /** A classification example. */
        public static Example of(float[] x, int label) {
            return new Example(x, label, null);
        }

        /** An example with float targets (regression, multi-label, soft labels). */
        public static Example of(float[] x, float... target) {
            return new Example(x, -1, target);
        }
    }

    /**
     * A lazy data set of {@code size} examples with float targets of {@code targetShape}, computed by {@code get}.
     *
     * <p>{@code MapDataset.of(1000, new int[] {2}, new int[] {1}, i -> Example.of(xs(i), ys(i)))}
     */
    static MapDataset of(int size, int[] itemShape, int[] targetShape, IntFunction<Example> get) {
        return lazy(size, itemShape, targetShape.clone(), get);
    }

    /** A lazy data set of {@code size} examples with class labels, computed by {@code get}. */
    static MapDataset classes(int size, int[] itemShape, IntFunction<Example> get) {
        return lazy(size, itemShape, null, get);
    }

    private static MapDataset lazy(int size, int[] itemShape, int[] target, IntFunction<Example> get) {
        if (size < 0) {
            throw new IllegalArgumentException("MapDataset: size " + size + " is negative");
        }
        int[] item = itemShape.clone();
        return new MapDataset() {
            @Override
            public int size() {
                return size;
            }

            @Override
            public Example get(int i) {
                return get.apply(i);
            }

            @Override
            public int[] itemShape() {
                return item.clone();
            }

            @Override
            public int[] targetShape() {
                return target == null ? null : target.clone();
            }
        };
    }
}
