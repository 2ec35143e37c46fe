package dev.gradus.train;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.spi.Backend;
import dev.gradus.spi.MemoryStats;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * A {@link Training.Listener} that prints, after every epoch, the backend's live and reserved bytes, its
 * allocation count, the process's resident memory and the JVM heap in use after a full garbage collection, and
 * at the end whether they stayed
 * flat after the first epoch (live bytes within 1%, resident memory within 5%).
 *
 * <pre>{@code
 * MemoryReport mem = new MemoryReport(backend, System.out);
 * Training.fit(Training.Config.of(model, opt, train, test, 10).withBackend(backend).withListeners(List.of(mem)));
 * mem.printVerdict();
 * }</pre>
 */
public final class MemoryReport implements Training.Listener {
    /** Live bytes may move this much (relative) after epoch 1 and still count as flat. */
    public static final double LIVE_TOLERANCE = 0.01;
    /** Resident memory may move this much (relative) after epoch 1 and still count as flat. */
    public static final double RSS_TOLERANCE = 0.05;

    /** One epoch's readings; {@code rssBytes} is -1 where the OS does not tell. */
    public record Sample(
            int epoch,
            long liveBytes,
            long reservedBytes,
            long allocations,
            long rssBytes,
            long heapBytes,
            long heapCommittedBytes) {}

    private final Backend backend;
    private final PrintStream out;
    private final List<Sample> samples = new ArrayList<>();

    /** Reports the memory of {@code device}'s backend to {@code out} after each epoch. */
    public MemoryReport(Device device, PrintStream out) {
        this(Backends.of(device), out);
    }

    /** Reports {@code backend}'s memory (SPI level; users pass a Device). */
    public MemoryReport(Backend backend, PrintStream out) {
        this.backend = backend;
        this.out = out;
    }

    @Override
    public void onEpoch(Map<String, Double> metrics) {
        // A full collection first, so that the heap figure is live data rather than garbage not yet collected.
        System.gc();
        MemoryStats m = backend.memory();
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        Sample s = new Sample(
                metrics.get("epoch").intValue(),
                m.liveBytes(),
                m.reservedBytes(),
                m.allocations(),
                residentBytes(),
                heap.getUsed(),
                heap.getCommitted());
        if (samples.isEmpty()) {
            out.printf(
                    "  %-5s  %14s  %14s  %11s  %14s  %14s  %14s%n",
                    "mem", "live_bytes", "reserved_bytes", "allocations", "rss_bytes", "heap_used", "heap_committed");
        }
        samples.add(s);
        out.printf(
                "  %-5d  %,14d  %,14d  %,11d  %,14d  %,14d  %,14d%n",
                s.epoch(),
                s.liveBytes(),
                s.reservedBytes(),
                s.allocations(),
                s.rssBytes(),
                s.heapBytes(),
                s.heapCommittedBytes());
    }

    /** The readings so far, one per epoch. */
    public List<Sample> samples() {
        return List.copyOf(samples);
    }

    /** Largest relative move of live bytes after epoch 1 (0 with fewer than two epochs). */
    public double liveDrift() {
        return drift(Sample::liveBytes);
    }

    /** Largest relative move of resident memory after epoch 1 (0 with fewer than two epochs, NaN if unknown). */
    public double rssDrift() {
        return samples.isEmpty() || samples.get(0).rssBytes() < 0 ? Double.NaN : drift(Sample::rssBytes);
    }

    /** True when live bytes and resident memory stayed within their tolerances after epoch 1. */
    public boolean flat() {
        double rss = rssDrift();
        return liveDrift() <= LIVE_TOLERANCE && (Double.isNaN(rss) || rss <= RSS_TOLERANCE);
    }

    /** Prints one line: the drifts, against the tolerances, and whether memory stayed flat. */
    public void printVerdict() {
        out.printf(
                "memory after epoch 1: live bytes moved %.3f%% (limit %.0f%%), resident memory %.2f%% (limit %.0f%%):"
                        + " %s%n",
                100 * liveDrift(),
                100 * LIVE_TOLERANCE,
                100 * rssDrift(),
                100 * RSS_TOLERANCE,
                flat() ? "FLAT" : "GROWING");
    }

    private double drift(ToLongFunction<Sample> f) {
        if (samples.size() < 2) {
            return 0;
        }
        double base = f.applyAsLong(samples.get(0));
        double worst = 0;
        for (Sample s : samples.subList(1, samples.size())) {
            worst = Math.max(worst, Math.abs(f.applyAsLong(s) - base) / Math.max(1, base));
        }
        return worst;
    }

    /** VmRSS from {@code /proc/self/status}, or -1 off Linux. */
    public static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
