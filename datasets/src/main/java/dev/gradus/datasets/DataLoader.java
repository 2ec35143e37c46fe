package dev.gradus.datasets;

import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Batches of a {@link Dataset} as tensors: optional shuffling with a seed (a new permutation every epoch,
 * reproducible), optional dropping of the last short batch.
 *
 * <p>Shapes: {@code x [batch, ...itemShape]} (or {@code [batch, itemSize]} when flattened), {@code y [batch]}
 * INT32. Tensors are created in the caller's current {@link dev.gradus.Scope}.
 *
 * <pre>{@code
 * DataLoader loader = new DataLoader(train, 128).shuffle(42).flatten(true);
 * for (DataLoader.Batch b : loader.epoch(backend)) { ... }
 * }</pre>
 */
public final class DataLoader {
    /** One batch: inputs and INT32 labels; closing it releases both (use it in try-with-resources). */
    public record Batch(Tensor x, Tensor y, int size) implements AutoCloseable {
        @Override
        public void close() {
            x.close();
            y.close();
        }
    }

    private final Dataset data;
    private final int batchSize;
    private boolean shuffle;
    private Rng rng;
    private boolean dropLast;
    private boolean flatten;

    /** A loader over {@code data} in order, keeping the last short batch. */
    public DataLoader(Dataset data, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("DataLoader: batch size must be positive, got " + batchSize);
        }
        this.data = data;
        this.batchSize = batchSize;
    }

    /** Shuffles every epoch with a stream seeded by {@code seed}. */
    public DataLoader shuffle(long seed) {
        this.shuffle = true;
        this.rng = new Rng(seed);
        return this;
    }

    /** Drops the last batch when it is short. */
    public DataLoader dropLast(boolean value) {
        this.dropLast = value;
        return this;
    }

    /** Delivers {@code [batch, itemSize]} instead of {@code [batch, ...itemShape]}, for MLPs. */
    public DataLoader flatten(boolean value) {
        this.flatten = value;
        return this;
    }

    /** Batches per epoch. */
    public int batches() {
        int n = data.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** One pass over the data; each call draws a new permutation when shuffling. */
    public Iterable<Batch> epoch(Backend backend) {
        int n = data.size();
        int[] order = shuffle ? rng.permutation(n) : null;
        int per = data.itemSize();
        int[] item = data.itemShape();
        return () -> new Iterator<>() {
            int next = 0;
            final float[] xBuf = new float[batchSize * per];
            final int[] yBuf = new int[batchSize];

            @Override
            public boolean hasNext() {
                int left = n - next;
                return left > 0 && (!dropLast || left >= batchSize);
            }

            @Override
            public Batch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                int b = Math.min(batchSize, n - next);
                float[] feats = data.features();
                int[] labels = data.labels();
                for (int i = 0; i < b; i++) {
                    int src = order == null ? next + i : order[next + i];
                    System.arraycopy(feats, src * per, xBuf, i * per, per);
                    yBuf[i] = labels[src];
                }
                next += b;
                int[] shape;
                if (flatten) {
                    shape = new int[] {b, per};
                } else {
                    shape = new int[item.length + 1];
                    shape[0] = b;
                    System.arraycopy(item, 0, shape, 1, item.length);
                }
                float[] xs = b == batchSize ? xBuf : java.util.Arrays.copyOf(xBuf, b * per);
                int[] ys = b == batchSize ? yBuf : java.util.Arrays.copyOf(yBuf, b);
                return new Batch(Tensor.of(backend, xs, shape), Tensor.ofInts(backend, ys, b), b);
            }
        };
    }
}
