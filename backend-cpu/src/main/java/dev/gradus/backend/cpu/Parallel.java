package dev.gradus.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;

/** Splits index ranges over a fixed pool when the work is large enough to pay for the hand-off. */
final class Parallel {
    /** Elements below which a loop runs on the calling thread. */
    static final int GRAIN = Integer.getInteger("gradus.grain", 1 << 18);

    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    private final ForkJoinPool pool;
    private final int threads;

    Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = this.threads > 1 ? new ForkJoinPool(this.threads) : null;
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} in contiguous chunks; {@code costPerItem} (elements touched per
     * index) decides whether splitting is worth it.
     */
    void forRange(int n, long costPerItem, RangeBody body) {
        int chunks = (int) Math.min(threads, Math.max(1, (n * Math.max(1, costPerItem)) / GRAIN));
        chunks = Math.min(chunks, n);
        if (chunks <= 1
                || pool == null
                || (Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == pool)) {
            body.run(0, n);
            return;
        }
        final int parts = chunks;
        pool.invoke(new RecursiveAction() {
            @Override
            protected void compute() {
                RecursiveAction[] tasks = new RecursiveAction[parts - 1];
                for (int c = 1; c < parts; c++) {
                    final int from = (int) ((long) n * c / parts);
                    final int to = (int) ((long) n * (c + 1) / parts);
                    tasks[c - 1] = new RecursiveAction() {
                        @Override
                        protected void compute() {
                            body.run(from, to);
                        }
                    };
                    tasks[c - 1].fork();
                }
                body.run(0, (int) ((long) n / parts));
                for (RecursiveAction t : tasks) {
                    t.join();
                }
            }
        });
    }
}
