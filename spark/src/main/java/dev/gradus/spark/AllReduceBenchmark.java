package dev.gradus.spark;

import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Optimizer;
import dev.gradus.spark.allreduce.AllReduce;
import dev.gradus.spark.allreduce.RingAllReduce;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * Times the ring all-reduce among {@code workers} threads on the loopback for 10k to 10M floats, and one training
 * step of the examples' models at global batch 128 with 1 and 2 workers (threads of this JVM, each with its own model, summing over loopback sockets); prints
 * Markdown tables.
 *
 * <pre>{@code java -cp spark/target/gradus-spark-app.jar dev.gradus.spark.AllReduceBenchmark [workers] [steps]}</pre>
 */
public final class AllReduceBenchmark {
    private AllReduceBenchmark() {}

    /** {@code [workers (2)] [steps (30)]}. */
    public static void main(String[] args) throws Exception {
        int workers = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        System.out.printf(
                "%d workers on the loopback, %d cores%n%n",
                workers, Runtime.getRuntime().availableProcessors());
        System.out.println("| floats | MB | all-reduce ms (median) | bus GB/s (2(N-1)/N x bytes / time) |");
        System.out.println("|---:|---:|---:|---:|");
        for (int n : new int[] {10_000, 100_000, 1_000_000, 10_000_000}) {
            int reps = n >= 10_000_000 ? 10 : n >= 1_000_000 ? 30 : n >= 100_000 ? 100 : 200;
            double ms = allReduceMillis(workers, n, reps);
            double bus = 2.0 * (workers - 1) / workers * n * 4 / (ms / 1e3) / 1e9;
            System.out.printf("| %,d | %.2f | %.3f | %.2f |%n", n, n * 4 / 1e6, ms, bus);
        }
        System.out.println();
        System.out.println("| model | workers | batch a worker | step ms (mean) | all-reduce ms | images/s |");
        System.out.println("|---|---:|---:|---:|---:|---:|");
        for (String model : new String[] {"mlp", "cnn"}) {
            for (int w : new int[] {1, 2}) { // 128 splits over 1 and 2 workers (the cores there are here)
                double[] t = stepMillis(model, w, 128 / w, steps);
                System.out.printf(
                        "| %s | %d | %d | %.2f | %.2f | %.0f |%n", model, w, 128 / w, t[0], t[1], 128 / t[0] * 1e3);
            }
        }
    }

    /** The median time of {@code reps} all-reduces of {@code n} floats among {@code workers} threads. */
    static double allReduceMillis(int workers, int n, int reps) throws Exception {
        List<double[]> times = onRing(workers, comm -> {
            float[] data = new float[n];
            Arrays.fill(data, comm.rank() + 1);
            comm.sum(data); // warm-up
            double[] t = new double[reps];
            for (int r = 0; r < reps; r++) {
                long t0 = System.nanoTime();
                comm.sum(data);
                t[r] = (System.nanoTime() - t0) / 1e6;
            }
            return t;
        });
        double[] t = times.get(0);
        Arrays.sort(t);
        return t[t.length / 2];
    }

    /** Mean step and all-reduce milliseconds of {@code model} with {@code workers} workers of {@code batch}. */
    static double[] stepMillis(String model, int workers, int batch, int steps) throws Exception {
        List<double[]> r = onRing(workers, comm -> {
            WorkerConfig c = (model.equals("cnn") ? WorkerConfig.cnn(workers) : WorkerConfig.mlp(48, workers))
                    .withBatch(batch * workers);
            Backend backend = Backends.defaultBackend();
            try (Sequential m = WorkerLoop.model(c, backend, new Rng(1));
                    Optimizer opt = WorkerLoop.optimizer(c, m);
                    Tensor x = Tensor.rand(backend, new Rng(2 + comm.rank()), batch, 1, 28, 28);
                    Tensor y = Tensor.ofInts(backend, labels(batch), batch)) {
                DataParallel dp = new DataParallel(m, opt, comm);
                dp.broadcastParameters();
                for (int i = 0; i < 5; i++) {
                    dp.step(x, y);
                }
                long a0 = dp.allReduceNanos();
                long t0 = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    dp.step(x, y);
                }
                return new double[] {(System.nanoTime() - t0) / 1e6 / steps, (dp.allReduceNanos() - a0) / 1e6 / steps};
            }
        });
        return r.get(0);
    }

    private static int[] labels(int n) {
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 10;
        }
        return y;
    }

    /** Runs {@code body} on {@code workers} threads joined in a ring on the loopback; their results by rank. */
    static <T> List<T> onRing(int workers, RingBody<T> body) throws Exception {
        List<ServerSocket> sockets = new ArrayList<>();
        List<InetSocketAddress> addresses = new ArrayList<>();
        InetAddress lo = InetAddress.getLoopbackAddress();
        for (int r = 0; r < workers; r++) {
            ServerSocket s = new ServerSocket(0, workers + 1, lo);
            sockets.add(s);
            addresses.add(new InetSocketAddress(lo, s.getLocalPort()));
        }
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            IntFunction<Callable<T>> task = rank -> () -> {
                try (AllReduce comm =
                        RingAllReduce.connect(rank, addresses, sockets.get(rank), Duration.ofSeconds(60))) {
                    return body.run(comm);
                }
            };
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < workers; r++) {
                futures.add(pool.submit(task.apply(r)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** What each worker of {@link #onRing} runs. */
    @FunctionalInterface
    interface RingBody<T> {
        T run(AllReduce comm) throws IOException;
    }
}
