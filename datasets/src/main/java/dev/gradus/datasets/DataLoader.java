package dev.gradus.datasets;

import dev.gradus.Backends;
import dev.gradus.DType;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import java.lang.ref.Cleaner;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Batches of a {@link Dataset} or any {@link MapDataset} (lazy, float targets) as tensors: optional shuffling with a seed (a new permutation every epoch,
 * reproducible), optional dropping of the last short batch, host-side transforms (normalisation, augmentation) and
 * background preparation of the next batches.
 *
 * <p>Shapes: {@code x [batch, ...itemShape]} (or {@code [batch, itemSize]} when flattened), {@code y [batch]}
 * INT32 for class labels or {@code [batch, ...targetShape]} FLOAT32 for float targets. Tensors are created on the consuming thread, in its current {@link dev.gradus.Scope}; a batch closes both.
 *
 * <pre>{@code
 * DataLoader loader = new DataLoader(train, 128).shuffle(42).transform(Normalize.of(0.1307f, 0.3081f)).prefetch(2);
 * for (DataLoader.Batch b : loader.epoch(backend)) {
 *     try (b) { ... }
 * }
 * }</pre>
 *
 * <p>Determinism: the permutation and every transform's random numbers come from streams seeded by
 * {@link #shuffle(long)} and {@link #transform(Transform, long)}, drawn in batch order whether or not batches are
 * prepared in the background.
 */
public final class DataLoader {
    /** One batch: inputs and targets (INT32 labels or FLOAT32 values); closing it releases both (try-with-resources). */
    public record Batch(Tensor x, Tensor y, int size) implements AutoCloseable {
        @Override
        public void close() {
            x.close();
            y.close();
        }
    }

    private final MapDataset data;
    /** The in-memory form, whose rows are copied straight from its arrays; null for any other data set. */
    private final Dataset memory;

    private final int per;
    /** Values per float target; 0 for class labels. */
    private final int targetSize;

    private final int batchSize;
    private Rng shuffleRng;
    private boolean dropLast;
    private boolean flatten;
    private Transform transform;
    private Rng transformRng;
    private int prefetch;
    private Producer running;

    /** A loader over {@code data} in order, keeping the last short batch, preparing batches on the caller's thread. */
    public DataLoader(MapDataset data, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("DataLoader: batch size must be positive, got " + batchSize);
        }
        this.data = data;
        this.memory = data instanceof Dataset d ? d : null;
        this.batchSize = batchSize;
        this.per = Shape.of(data.itemShape()).numel();
        int[] t = data.targetShape();
        this.targetSize = t == null ? 0 : Shape.of(t).numel();
        if (per == 0 || (t != null && targetSize == 0)) {
            throw new IllegalArgumentException(data.name() + ": item shape " + Arrays.toString(data.itemShape())
                    + " or target shape " + Arrays.toString(t) + " holds no values");
        }
    }

    /** Shuffles every epoch with a stream seeded by {@code seed}. */
    public DataLoader shuffle(long seed) {
        this.shuffleRng = new Rng(seed);
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

    /** Applies {@code t} to every item as it is batched (deterministic transforms need no seed). */
    public DataLoader transform(Transform t) {
        return transform(t, 0);
    }

    /** Applies {@code t} to every item, drawing its random numbers from a stream seeded by {@code seed}. */
    public DataLoader transform(Transform t, long seed) {
        this.transform = t;
        this.transformRng = new Rng(seed);
        return this;
    }

    /** Prepares up to {@code batches} batches ahead on a background thread (0: on the caller's thread). */
    public DataLoader prefetch(int batches) {
        if (batches < 0) {
            throw new IllegalArgumentException("DataLoader: prefetch must be >= 0, got " + batches);
        }
        this.prefetch = batches;
        return this;
    }

    /** The data set this loader reads. */
    public MapDataset dataset() {
        return data;
    }

    /** Batches per epoch. */
    public int batches() {
        int n = data.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** A batch on the host, before it becomes tensors. */
    private static final class HostBatch {
        final float[] x;
        final int[] y;
        final float[] t;
        int size;
        /** What the producer threw instead of filling this batch (any Throwable, an Error included). */
        Throwable error;

        HostBatch(int batch, int per, int targetSize) {
            x = new float[batch * per];
            y = new int[batch];
            t = new float[batch * targetSize];
        }
    }

    /**
     * One pass over the data; each call draws a new permutation and new transform randomness.
     *
     * <p>The epoch is iterated once, as a {@link java.nio.file.DirectoryStream}. Leaving it early (a {@code break},
     * an exception) is safe: the background thread of a prefetching loader stops when the epoch is closed, when the
     * next epoch of this loader starts, or when the abandoned epoch is garbage-collected, whichever comes first;
     * try-with-resources stops it at once.
     */
    public Epoch epoch(Device device) {
        return epoch(Backends.of(device));
    }

    /** One pass over the data with batches on {@code backend}: the SPI-level form of {@link #epoch(Device)}. */
    public Epoch epoch(Backend backend) {
        int n = data.size();
        int[] order = shuffleRng != null ? shuffleRng.permutation(n) : null;
        Rng epochRng = transformRng != null ? transformRng.split() : null;
        int count = batches();
        if (running != null) {
            running.cancel();
            running = null;
        }
        // In order and untransformed, a batch is a run of the data set's array: one copy, straight into the tensor,
        // and nothing for a background thread to prepare.
        boolean run = order == null && transform == null && memory != null;
        Producer producer = prefetch > 0 && !run ? new Producer(order, epochRng, count, per) : null;
        running = producer;
        return new Epoch(producer, () -> new Iterator<>() {
            int next = 0;
            final HostBatch single = producer == null && !run ? new HostBatch(batchSize, per, targetSize) : null;

            @Override
            public boolean hasNext() {
                return next < count;
            }

            @Override
            public Batch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                if (run) {
                    return runOf(next++, backend, per);
                }
                HostBatch hb;
                if (producer == null) {
                    hb = single;
                    fill(hb, next, order, epochRng, per);
                } else {
                    hb = producer.take();
                }
                next++;
                try {
                    return toTensors(hb, backend, per);
                } finally {
                    if (producer != null) {
                        producer.recycle(hb);
                    }
                }
            }
        });
    }

    /**
     * One epoch's batches: iterable once, and closeable so that a loop left early stops the background thread at
     * once.
     *
     * <pre>{@code
     * try (DataLoader.Epoch epoch = loader.epoch(backend)) {
     *     for (DataLoader.Batch b : epoch) { ... if (done) break; }
     * }
     * }</pre>
     */
    public static final class Epoch implements Iterable<Batch>, AutoCloseable {
        private final Producer producer;
        private final Iterable<Batch> batches;
        private final Cleaner.Cleanable cleanable;
        private boolean iterated;

        Epoch(Producer producer, Iterable<Batch> batches) {
            this.producer = producer;
            this.batches = batches;
            // As PyTorch's iterator shuts its workers down when it is deleted: an epoch left with a break and never
            // closed stops its thread once unreachable. The action holds the producer only, never this epoch.
            this.cleanable = producer == null ? null : EpochCleaner.CLEANER.register(this, producer::cancel);
        }

        /**
         * The batches, in order.
         *
         * @throws IllegalStateException when called a second time or after {@link #close()}
         */
        @Override
        public Iterator<Batch> iterator() {
            if (iterated) {
                throw new IllegalStateException("DataLoader: an epoch is iterated once; call epoch() for another pass");
            }
            iterated = true;
            Iterator<Batch> it = batches.iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    boolean more = it.hasNext();
                    if (!more) {
                        close();
                    }
                    return more;
                }

                @Override
                public Batch next() {
                    return it.next();
                }
            };
        }

        /** Stops the background thread, if any, and ends the iteration; idempotent. */
        @Override
        public void close() {
            iterated = true;
            if (cleanable != null) {
                cleanable.clean();
            }
        }
    }

    /** The daemon thread that stops the producers of epochs abandoned without {@link Epoch#close()}. */
    private static final class EpochCleaner {
        static final Cleaner CLEANER = Cleaner.create(r -> {
            Thread t = new Thread(r, "gradus-epoch-cleaner");
            t.setDaemon(true);
            return t;
        });
    }

    private void fill(HostBatch hb, int batchIndex, int[] order, Rng rng, int per) {
        int start = batchIndex * batchSize;
        int b = Math.min(batchSize, data.size() - start);
        int[] item = data.itemShape();
        for (int i = 0; i < b; i++) {
            int src = order == null ? start + i : order[start + i];
            if (memory != null) {
                System.arraycopy(memory.features(), src * per, hb.x, i * per, per);
                hb.y[i] = memory.labels()[src];
            } else {
                copyExample(src, hb, i);
            }
            if (transform != null) {
                transform.apply(hb.x, i * per, item, rng);
            }
        }
        hb.size = b;
    }

    /** Example {@code src} of a {@link MapDataset} into row {@code row} of {@code hb}, checked against its shapes. */
    private void copyExample(int src, HostBatch hb, int row) {
        MapDataset.Example e = data.get(src);
        if (e == null || e.x() == null || e.x().length != per) {
            throw new IllegalArgumentException(data.name() + ": example " + src + " has "
                    + (e == null || e.x() == null ? "no features" : e.x().length + " feature values")
                    + ", item shape " + Arrays.toString(data.itemShape()) + " needs " + per);
        }
        System.arraycopy(e.x(), 0, hb.x, row * per, per);
        if (targetSize == 0) {
            if (e.target() != null) {
                throw new IllegalArgumentException(data.name() + ": example " + src
                        + " has float targets, but the data set's targets are classes");
            }
            hb.y[row] = e.label();
        } else {
            if (e.target() == null || e.target().length != targetSize) {
                throw new IllegalArgumentException(data.name() + ": example " + src + " has "
                        + (e.target() == null ? "a class label" : e.target().length + " target values")
                        + ", target shape " + Arrays.toString(data.targetShape()) + " needs " + targetSize);
            }
            System.arraycopy(e.target(), 0, hb.t, row * targetSize, targetSize);
        }
    }

    private int[] batchShape(int b, int per) {
        if (flatten) {
            return new int[] {b, per};
        }
        int[] item = data.itemShape();
        int[] shape = new int[item.length + 1];
        shape[0] = b;
        System.arraycopy(item, 0, shape, 1, item.length);
        return shape;
    }

    private Batch toTensors(HostBatch hb, Backend backend, int per) {
        int b = hb.size;
        float[] xs = b == batchSize ? hb.x : Arrays.copyOf(hb.x, b * per);
        Tensor x = Tensor.of(backend, xs, batchShape(b, per));
        try {
            if (targetSize > 0) {
                int[] ts = data.targetShape();
                int[] shape = new int[ts.length + 1];
                shape[0] = b;
                System.arraycopy(ts, 0, shape, 1, ts.length);
                return new Batch(x, Tensor.of(backend, Arrays.copyOf(hb.t, b * targetSize), shape), b);
            }
            int[] ys = b == batchSize ? hb.y : Arrays.copyOf(hb.y, b);
            return new Batch(x, Tensor.ofInts(backend, ys, b), b);
        } catch (RuntimeException e) {
            x.close();
            throw e;
        }
    }

    /** Batch {@code index} of an unshuffled, untransformed pass, copied once from the data set into the tensor. */
    private Batch runOf(int index, Backend backend, int per) {
        int start = index * batchSize;
        int b = Math.min(batchSize, data.size() - start);
        Tensor x = Tensor.empty(backend, DType.FLOAT32, batchShape(b, per));
        try {
            backend.write(x.operand().storage(), 0, memory.features(), start * per, b * per);
            return new Batch(x, Tensor.ofInts(backend, Arrays.copyOfRange(memory.labels(), start, start + b), b), b);
        } catch (RuntimeException e) {
            x.close();
            throw e;
        }
    }

    /**
     * Fills host batches on a daemon thread, in order, a bounded number ahead of the consumer.
     *
     * <p>Whatever the thread throws, an {@link Error} included, reaches the consumer in place of the batch it was
     * preparing; {@link #cancel()} interrupts the thread wherever it waits, so an abandoned epoch leaves none behind.
     */
    private final class Producer implements Runnable {
        private final int[] order;
        private final Rng rng;
        private final int count;
        private final int per;
        private final BlockingQueue<HostBatch> ready;
        private final BlockingQueue<HostBatch> free;
        /** Carries a failure; allocated up front because the failure may be an OutOfMemoryError. */
        private final HostBatch failure = new HostBatch(0, 0, 0);

        private final Thread thread;
        private volatile boolean cancelled;

        Producer(int[] order, Rng rng, int count, int per) {
            this.order = order;
            this.rng = rng;
            this.count = count;
            this.per = per;
            this.ready = new ArrayBlockingQueue<>(prefetch + 2);
            this.free = new ArrayBlockingQueue<>(prefetch + 2);
            for (int i = 0; i < prefetch + 2; i++) {
                free.add(new HostBatch(batchSize, per, targetSize));
            }
            thread = new Thread(this, "gradus-dataloader");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void run() {
            try {
                for (int i = 0; i < count && !cancelled; i++) {
                    HostBatch hb = free.take();
                    fill(hb, i, order, rng, per);
                    ready.put(hb);
                }
            } catch (InterruptedException e) {
                if (!cancelled) {
                    fail(new IllegalStateException("the loader's thread was interrupted", e));
                }
            } catch (Throwable t) {
                if (!cancelled) {
                    fail(t);
                }
            }
        }

        /** Queues the failure for the consumer; ready has room for it beside every batch. */
        private void fail(Throwable t) {
            failure.error = t;
            // ready holds prefetch + 2, as many as there are batches, so one more always fits.
            ready.offer(failure);
        }

        HostBatch take() {
            HostBatch hb;
            try {
                // Polls so that a thread that ended without a word (it cannot, but if it did) does not block forever.
                while ((hb = ready.poll(100, TimeUnit.MILLISECONDS)) == null) {
                    if (cancelled) {
                        throw new IllegalStateException(
                                "DataLoader: this epoch was closed, or a newer epoch() of its loader started");
                    }
                    if (!thread.isAlive() && ready.isEmpty()) {
                        if (failure.error != null) {
                            hb = failure;
                            break;
                        }
                        throw new IllegalStateException("DataLoader: the loader's thread ended without a batch");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("DataLoader: interrupted while waiting for a batch", e);
            }
            Throwable error = hb.error;
            if (error == null) {
                return hb;
            }
            if (error instanceof Error err) {
                // An Error keeps its type, as ForkJoinTask.join rethrows it; the consumer's stack rides along.
                err.addSuppressed(new IllegalStateException("DataLoader: rethrown from the loader's thread"));
                throw err;
            }
            throw new IllegalStateException("DataLoader: preparing a batch failed: " + error.getMessage(), error);
        }

        void recycle(HostBatch hb) {
            free.offer(hb);
        }

        void cancel() {
            cancelled = true;
            thread.interrupt();
        }
    }
}
