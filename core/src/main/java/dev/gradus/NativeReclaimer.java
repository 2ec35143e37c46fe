package dev.gradus;

import dev.gradus.spi.Backend;
import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.Comparator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The safety net under {@link Scope} and {@link Tensor#close()}: a tensor that no scope owns and that becomes
 * unreachable unclosed lets go of its storage as {@code close()} would (the storage is freed when the last tensor
 * on it lets go), and when such tensors hold more than
 * {@code gradus.maxUnscopedBytes} the next allocation runs the garbage collector first, as JavaCPP does with its
 * {@code maxBytes}, since tensors are small on the Java heap and the GC would otherwise not run for a long time.
 *
 * <p>Freed storages are found with phantom references polled on the allocating thread (no cleaner thread), so a
 * backend is only ever called from threads that use it. Scoped tensors are never registered: they cost nothing
 * here. With {@code -Dgradus.leakDetection=on} each registration records where it was made, and the sites of
 * storages the GC had to free are logged.
 */
final class NativeReclaimer {
    private static final Logger LOG = LoggerFactory.getLogger(NativeReclaimer.class);

    /** Default bound on unscoped native bytes before an allocation triggers a collection. */
    static final long DEFAULT_MAX_UNSCOPED_BYTES = 256L << 20;

    private static final ReferenceQueue<Tensor> QUEUE = new ReferenceQueue<>();
    /** Keeps the phantom references themselves reachable until their storage is freed. */
    private static final Set<Watch> WATCHED = ConcurrentHashMap.newKeySet();

    private static final AtomicLong UNSCOPED_BYTES = new AtomicLong();
    private static final AtomicLong RECLAIMED = new AtomicLong();
    private static final AtomicLong RECLAIMED_BYTES = new AtomicLong();
    private static final Map<String, AtomicLong> LEAK_SITES = new ConcurrentHashMap<>();
    private static final Object COLLECTING = new Object();
    /**
     * A quarter of the heap limit when that is smaller: JavaCPP, which allocates the CPU backend's memory, refuses
     * native allocations beyond {@code -Xmx} by default.
     */
    private static final long BASE = longProperty(
            "gradus.maxUnscopedBytes",
            Math.min(DEFAULT_MAX_UNSCOPED_BYTES, Runtime.getRuntime().maxMemory() / 4));

    private static final boolean LEAK_DETECTION = leakDetectionProperty();
    private static final long REPORT_INTERVAL_NANOS = 30_000_000_000L;

    private static volatile long threshold = BASE;
    private static volatile boolean hinted;
    private static volatile long lastReport;
    private static final AtomicLong COLLECTIONS = new AtomicLong();

    private NativeReclaimer() {}

    /**
     * A tensor no scope owns: {@link #drain} releases its hold on {@code ref} once the tensor is unreachable.
     * Counts the storage's bytes if it is the first such tensor on it (views of it count nothing more).
     */
    static final class Watch extends PhantomReference<Tensor> {
        final StorageRef ref;
        final long bytes;
        final Throwable site;

        Watch(Tensor t, StorageRef ref, long bytes) {
            super(t, QUEUE);
            this.ref = ref;
            this.bytes = bytes;
            this.site = LEAK_DETECTION ? new Throwable("created here") : null;
        }
    }

    static Watch watch(Tensor t, StorageRef ref) {
        Watch w = new Watch(t, ref, ref.claimBytes());
        WATCHED.add(w);
        UNSCOPED_BYTES.addAndGet(w.bytes);
        return w;
    }

    /** The tensor was closed: stop watching it. */
    static void forget(Watch w) {
        if (WATCHED.remove(w)) {
            w.clear();
            UNSCOPED_BYTES.addAndGet(-w.bytes);
        }
    }

    /** Called before each allocation of {@code bytes}: frees what the GC found, and collects when over the bound. */
    static void beforeAllocate(long bytes) {
        drain();
        if (UNSCOPED_BYTES.get() + bytes > threshold) {
            collect();
        }
    }

    /** Releases the tensors the GC has found unreachable; returns how many. */
    static int drain() {
        int n = pollAll();
        if (n > 0) {
            reportLeaks();
        }
        return n;
    }

    /** Releases what is in the queue now, without waiting or reporting. */
    private static int pollAll() {
        int n = 0;
        for (Reference<? extends Tensor> r; (r = QUEUE.poll()) != null; ) {
            n += reclaim((Watch) r) ? 1 : 0;
        }
        return n;
    }

    private static boolean reclaim(Watch w) {
        if (!WATCHED.remove(w)) {
            return false;
        }
        UNSCOPED_BYTES.addAndGet(-w.bytes);
        RECLAIMED.incrementAndGet();
        RECLAIMED_BYTES.addAndGet(w.bytes);
        if (w.site != null) {
            LEAK_SITES.computeIfAbsent(site(w.site), k -> new AtomicLong()).incrementAndGet();
        }
        w.ref.release();
        return true;
    }

    /** Runs the GC, frees what it found, and moves the bound so that live data alone does not collect each time. */
    private static void collect() {
        synchronized (COLLECTING) {
            if (UNSCOPED_BYTES.get() <= threshold) {
                return; // another thread just collected
            }
            COLLECTIONS.incrementAndGet();
            collectNow();
            threshold = Math.max(BASE, 2 * UNSCOPED_BYTES.get());
        }
    }

    /** Runs the GC and releases every tensor it found unreachable; returns how many. */
    static int collectNow() {
        int n = 0;
        System.gc();
        try {
            // The reference handler enqueues phantoms shortly after the collection: wait for the first, then
            // take the rest until the queue stays empty for 10 ms.
            for (Reference<? extends Tensor> r = QUEUE.remove(100); r != null; r = QUEUE.remove(10)) {
                n += reclaim((Watch) r) ? 1 : 0;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        n += pollAll(); // what an interruption left behind
        if (n > 0) {
            reportLeaks();
        }
        return n;
    }

    /**
     * The error for an allocation that failed even after the unreachable tensors were released and the backend's
     * cache given back: one line naming the op, the shape, the bytes and how to raise the native memory cap.
     */
    static OutOfMemoryError outOfMemory(Backend backend, Shape shape, DType dtype, long bytes, OutOfMemoryError cause) {
        var mem = backend.memory();
        StringBuilder m = new StringBuilder("out of memory: ")
                .append(opName())
                .append(" needs ")
                .append(dtype)
                .append(' ')
                .append(shape)
                .append(" (")
                .append(bytes)
                .append(" bytes) on ")
                .append(backend.name())
                .append(", with ")
                .append(mem.liveBytes())
                .append(" bytes live and ")
                .append(mem.reservedBytes())
                .append(" cached");
        if ("cpu".equals(backend.name())) {
            String cap = System.getProperty("org.bytedeco.javacpp.maxBytes");
            m.append("; JavaCPP caps native memory at -Xmx by default (")
                    .append(cap == null ? "here " + Runtime.getRuntime().maxMemory() + " bytes" : "set to " + cap)
                    .append("): raise it with -Dorg.bytedeco.javacpp.maxBytes=<bytes, e.g. 8g>")
                    .append(" (and -Dorg.bytedeco.javacpp.maxPhysicalBytes), or use smaller batches");
        } else {
            m.append("; use smaller batches or free tensors (close them or use a Scope)");
        }
        String why = cause.getMessage();
        if (why != null && !why.isBlank()) {
            m.append(" (").append(why.lines().findFirst().orElse("").strip()).append(')');
        }
        OutOfMemoryError e = new OutOfMemoryError(m.toString());
        e.initCause(cause);
        return e;
    }

    /** The library op that allocated, as {@code Tensor.matmul}, with the layer that called it, if any. */
    private static String opName() {
        return StackWalker.getInstance().walk(frames -> {
            String op = null;
            String caller = null;
            for (var it = frames.iterator(); it.hasNext(); ) {
                StackWalker.StackFrame f = it.next();
                String cls = f.getClassName();
                if (cls.startsWith("dev.gradus.ops.")) {
                    continue; // the built-in ops' machinery between Tensor's method and its kernel call
                }
                String simple = cls.substring(cls.lastIndexOf('.') + 1);
                if (simple.equals("TensorState") || simple.equals("TensorFactories")) {
                    simple = "Tensor"; // Tensor's methods declared in its package-private superclasses
                }
                boolean core = cls.startsWith("dev.gradus.") && cls.indexOf('.', "dev.gradus.".length()) < 0;
                if (core && !simple.contains("$") && !f.getMethodName().contains("lambda$")) {
                    if (!simple.equals("NativeReclaimer") && !f.getMethodName().equals("empty")) {
                        op = simple + "." + f.getMethodName();
                    }
                } else if (op != null && !core) {
                    caller = simple + "." + f.getMethodName();
                    break;
                }
            }
            if (op == null) {
                return "an allocation";
            }
            return caller == null ? op : op + " (called from " + caller + ")";
        });
    }

    /** Packages whose frames are the library's, not the site a user wants to see. */
    private static final Set<String> LIBRARY_PACKAGES = Set.of(
            "dev.gradus",
            "dev.gradus.nn",
            "dev.gradus.optim",
            "dev.gradus.io",
            "dev.gradus.metrics",
            "dev.gradus.spi",
            "dev.gradus.datasets",
            "dev.gradus.train");

    /** The first frame outside the library (the user's code) of a creation stack. */
    private static String site(Throwable t) {
        for (StackTraceElement e : t.getStackTrace()) {
            String c = e.getClassName();
            int dot = c.lastIndexOf('.');
            if (!LIBRARY_PACKAGES.contains(dot < 0 ? "" : c.substring(0, dot))) {
                return e.toString();
            }
        }
        StackTraceElement[] s = t.getStackTrace();
        return s.length > 0 ? s[s.length - 1].toString() : "unknown";
    }

    private static void reportLeaks() {
        if (!LEAK_DETECTION) {
            if (!hinted) {
                hinted = true;
                LOG.warn(
                        "Gradus: the garbage collector found {} tensor(s) that were never closed and no Scope owned, "
                                + "and freed their native memory; close them or open a Scope around each step (run with "
                                + "-Dgradus.leakDetection=on to log where they were created)",
                        RECLAIMED.get());
            }
            return;
        }
        long now = System.nanoTime();
        if (lastReport != 0 && now - lastReport < REPORT_INTERVAL_NANOS) {
            return;
        }
        lastReport = now;
        LOG.warn(
                "Gradus leak report: the garbage collector has found {} unclosed tensor(s), holding {} bytes, so far; "
                        + "top creation sites: {}",
                RECLAIMED.get(),
                RECLAIMED_BYTES.get(),
                topSites(5));
    }

    static String topSites(int n) {
        return LEAK_SITES.entrySet().stream()
                .sorted(Comparator.comparingLong((Map.Entry<String, AtomicLong> e) ->
                                e.getValue().get())
                        .reversed())
                .limit(n)
                .map(e -> e.getValue().get() + "x at " + e.getKey())
                .collect(Collectors.joining("; "));
    }

    /** Bytes of storages no scope owns that are not yet freed. */
    static long unscopedBytes() {
        return UNSCOPED_BYTES.get();
    }

    /** Storages freed by the GC rather than by a scope or {@code close()}. */
    static long reclaimed() {
        return RECLAIMED.get();
    }

    /** Collections the bound has triggered. */
    static long collections() {
        return COLLECTIONS.get();
    }

    private static long longProperty(String name, long def) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            return def;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < 0) {
                throw new NumberFormatException("negative");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + name + "=" + v + ": expected a number of bytes >= 0", e);
        }
    }

    private static boolean leakDetectionProperty() {
        String v = System.getProperty("gradus.leakDetection", "off").trim();
        switch (v.toLowerCase(Locale.ROOT)) {
            case "on", "true" -> {
                return true;
            }
            case "off", "false", "" -> {
                return false;
            }
            default -> throw new IllegalArgumentException("-Dgradus.leakDetection=" + v + ": expected on or off");
        }
    }
}
