package dev.gradus.spark.allreduce;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Test helper: a ring of worker threads on the loopback, each running a body with its own all-reduce. */
public final class Ring {
    private Ring() {}

    /** What each worker runs. */
    @FunctionalInterface
    public interface Body<T> {
        T run(AllReduce comm) throws Exception;
    }

    /** Runs {@code body} on {@code n} threads joined in a ring (bucket {@code bucket}); their results by rank. */
    public static <T> List<T> run(int n, int bucket, Duration timeout, Body<T> body) throws Exception {
        List<ServerSocket> sockets = new ArrayList<>();
        List<InetSocketAddress> addresses = new ArrayList<>();
        InetAddress lo = InetAddress.getLoopbackAddress();
        for (int r = 0; r < n; r++) {
            try {
                ServerSocket s = new ServerSocket(0, n + 1, lo);
                sockets.add(s);
                addresses.add(new InetSocketAddress(lo, s.getLocalPort()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                futures.add(pool.submit(() -> {
                    try (AllReduce comm = RingAllReduce.connect(rank, addresses, sockets.get(rank), timeout, bucket)) {
                        return body.run(comm);
                    }
                }));
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
}
