package dev.gradus.benchmarks;

import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One model served by a pool of threads, as a web server serves it: each thread answers one image at a time (batch
 * 1, eval mode, no gradients, a {@link Scope} per call) for a fixed time; prints calls per second, p50 and p99
 * latency, and the process's resident memory before and after, for 1, 2 and 4 threads.
 *
 * <pre>{@code java -cp benchmarks/target/gradus-benchmarks.jar dev.gradus.benchmarks.ServingBenchmark
 *     [model=cnn] [backend=cpu] [seconds=10] [threads=1,2,4]}</pre>
 */
public final class ServingBenchmark {
    private ServingBenchmark() {}

    public static void main(String[] args) throws Exception {
        String modelName = arg(args, "model", "cnn");
        String backendName = arg(args, "backend", "cpu");
        double seconds = Double.parseDouble(arg(args, "seconds", "10"));
        int[] threadCounts = Arrays.stream(arg(args, "threads", "1,2,4").split(","))
                .mapToInt(Integer::parseInt)
                .toArray();
        Backend backend = Benchmarks.backend(backendName);
        Rng rng = new Rng(42);
        float[][] images = new float[256][784];
        for (float[] im : images) {
            for (int i = 0; i < im.length; i++) {
                im[i] = rng.nextFloat();
            }
        }
        try (Sequential model = Benchmarks.exampleModel(modelName, backend, rng)) {
            model.eval();
            long rssStart = residentBytes();
            for (int i = 0; i < 2000; i++) { // warm-up: JIT, oneDNN primitives
                predict(model, backend, images[i % images.length]);
            }
            long rssWarm = residentBytes();
            System.out.printf(
                    "serving %s on %s, batch 1, %.0f s per row, %d cores, %s%n",
                    modelName, backendName, seconds, Runtime.getRuntime().availableProcessors(), isa());
            System.out.printf("resident memory: %.1f MB at start, %.1f MB after warm-up%n", mb(rssStart), mb(rssWarm));
            System.out.println("| threads | calls/s | p50 (ms) | p99 (ms) | resident after (MB) |");
            System.out.println("| --- | --- | --- | --- | --- |");
            for (int threads : threadCounts) {
                Row r = run(model, backend, images, threads, seconds);
                System.out.printf(
                        "| %d | %.0f | %.3f | %.3f | %.1f |%n",
                        threads, r.callsPerSecond, r.p50Millis, r.p99Millis, mb(residentBytes()));
            }
        }
    }

    private record Row(double callsPerSecond, double p50Millis, double p99Millis) {}

    private static Row run(Sequential model, Backend backend, float[][] images, int threads, double seconds)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CyclicBarrier start = new CyclicBarrier(threads);
        long budget = (long) (seconds * 1e9);
        try {
            List<Future<long[]>> jobs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int offset = t * 31;
                jobs.add(pool.submit(() -> {
                    start.await();
                    long[] lat = new long[1 << 16];
                    int n = 0;
                    long begin = System.nanoTime();
                    long end = begin + budget;
                    for (long now = begin; now < end; ) {
                        long t0 = System.nanoTime();
                        predict(model, backend, images[(offset + n) % images.length]);
                        now = System.nanoTime();
                        if (n == lat.length) {
                            lat = Arrays.copyOf(lat, n * 2);
                        }
                        lat[n++] = now - t0;
                    }
                    return Arrays.copyOf(lat, n);
                }));
            }
            List<long[]> all = new ArrayList<>();
            int total = 0;
            for (Future<long[]> f : jobs) {
                long[] l = f.get();
                all.add(l);
                total += l.length;
            }
            long[] merged = new long[total];
            int at = 0;
            for (long[] l : all) {
                System.arraycopy(l, 0, merged, at, l.length);
                at += l.length;
            }
            Arrays.sort(merged);
            return new Row(
                    total / seconds,
                    merged[(int) (total * 0.50)] / 1e6,
                    merged[(int) Math.min(total - 1, total * 0.99)] / 1e6);
        } finally {
            pool.shutdownNow();
        }
    }

    private static int predict(Sequential model, Backend backend, float[] image) {
        try (GradMode ng = GradMode.noGrad();
                Scope s = Scope.open()) {
            return model.forward(Tensor.of(backend, image, 1, 1, 28, 28))
                    .argmax(1)
                    .toIntArray()[0];
        }
    }

    /** VmRSS of this process from {@code /proc/self/status}, or -1 where there is none (not Linux). */
    private static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static String isa() {
        String isa = System.getenv("ONEDNN_MAX_CPU_ISA");
        return isa == null || isa.isBlank() ? "oneDNN's native ISA" : "ONEDNN_MAX_CPU_ISA=" + isa;
    }

    private static double mb(long bytes) {
        return bytes / 1e6;
    }

    private static String arg(String[] args, String name, String dflt) {
        for (String a : args) {
            if (a.startsWith(name + "=")) {
                return a.substring(name.length() + 1);
            }
        }
        return dflt;
    }
}
