package dev.gradus.backend.cpu;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Function;
import java.util.function.Predicate;
import org.bytedeco.javacpp.Pointer;

/**
 * The oneDNN plans of one backend (convolutions, matrix products, batch norm, pooling, eltwise), made once per key
 * and kept, within a stated bound: at most {@code gradus.dnnl.maxPlans} plans (default {@value #DEFAULT_MAX_PLANS})
 * whose buffers hold at most {@code gradus.dnnl.maxPlanBytes} bytes (default 64 MiB, or an eighth of JavaCPP's
 * {@code maxBytes} when that is less); past either, the least recently used plans are evicted.
 *
 * <p>Threads: a caller {@link #acquire}s a plan, runs it and {@link Entry#release}s it. Each plan is reference
 * counted (the cache holds one reference while the plan is in it, each caller one while running it), so a plan
 * evicted while other threads run it is freed (its primitive, scratchpads and argument sets) when the last of them
 * releases it, never under them. A lookup that hits takes no lock and allocates nothing.
 *
 * <p>Example: {@code Entry<DnnlPlan> e = cache.acquire(key, build); try { e.plan().run(..); } finally { e.release(); }}
 */
final class DnnlPlanCache {
    /** What the cache holds: native resources of a known size, freed once. */
    interface Plan {
        /** Native bytes the plan's buffers hold now (its argument sets' scratch and scratchpads). */
        long bytes();

        /** Frees the plan's native resources; called once, when no thread uses it any more. */
        void free();
    }

    static final int DEFAULT_MAX_PLANS = 512;
    static final long DEFAULT_MAX_BYTES = 64L << 20;

    /** One cached plan and its reference count. */
    static final class Entry<P extends Plan> {
        private static final AtomicIntegerFieldUpdater<Entry> REFS =
                AtomicIntegerFieldUpdater.newUpdater(Entry.class, "refs");

        private final P plan;
        /** The cache's reference while the plan is in it, plus one per caller running it; 0: freed. */
        private volatile int refs;
        /** The cache's clock at the last use (racy: the order is approximate, which eviction tolerates). */
        long lastUse;

        private Entry(P plan, int refs) {
            this.plan = plan;
            this.refs = refs;
        }

        P plan() {
            return plan;
        }

        /** Takes a reference; false when the plan was already freed. */
        boolean tryAcquire() {
            for (int r = refs; r > 0; r = refs) {
                if (REFS.compareAndSet(this, r, r + 1)) {
                    return true;
                }
            }
            return false;
        }

        /** Gives a reference back; the last one frees the plan. */
        void release() {
            int r = REFS.decrementAndGet(this);
            if (r == 0) {
                plan.free();
            } else if (r < 0) {
                throw new IllegalStateException("DnnlPlanCache: a plan released more often than acquired");
            }
        }

        /** The current reference count (for tests). */
        int refs() {
            return refs;
        }
    }

    private final Map<Object, Entry<?>> entries = new ConcurrentHashMap<>();
    private final int maxPlans;
    private final long maxBytes;
    /** Run when making a plan ran out of native memory, before trying once more (the backend's buffer cache trim). */
    private final Runnable onOutOfMemory;

    private long clock;
    private long evictions;

    DnnlPlanCache(int maxPlans, long maxBytes) {
        this(maxPlans, maxBytes, () -> {});
    }

    DnnlPlanCache(int maxPlans, long maxBytes, Runnable onOutOfMemory) {
        if (maxPlans < 1 || maxBytes < 0) {
            throw new IllegalArgumentException(
                    "DnnlPlanCache: at least 1 plan and 0 bytes, got " + maxPlans + " plans, " + maxBytes + " bytes");
        }
        this.maxPlans = maxPlans;
        this.maxBytes = maxBytes;
        this.onOutOfMemory = onOutOfMemory;
    }

    /**
     * A cache bounded as {@code gradus.dnnl.maxPlans} and {@code gradus.dnnl.maxPlanBytes} say (or the defaults);
     * {@code onOutOfMemory} gives native memory back (the backend's buffer cache) when making a plan ran out of it.
     */
    static DnnlPlanCache fromProperties(Runnable onOutOfMemory) {
        long javacppCap = Pointer.maxBytes() > 0 ? Pointer.maxBytes() / 8 : Long.MAX_VALUE;
        return new DnnlPlanCache(
                (int) property("gradus.dnnl.maxPlans", DEFAULT_MAX_PLANS),
                property("gradus.dnnl.maxPlanBytes", Math.min(DEFAULT_MAX_BYTES, javacppCap)),
                onOutOfMemory);
    }

    private static long property(String name, long otherwise) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            return otherwise;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < 0 || n > Integer.MAX_VALUE && name.endsWith("maxPlans")) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a count >= 0, got \"" + v + "\"");
        }
    }

    /**
     * The plan for {@code key}, made by {@code build} when not cached, with a reference taken: run it, then
     * {@link Entry#release} it. Keys of different plan kinds must not be equal (use a record per kind).
     */
    @SuppressWarnings("unchecked")
    <K, P extends Plan> Entry<P> acquire(K key, Function<? super K, ? extends P> build) {
        while (true) {
            Entry<P> e = (Entry<P>) entries.get(key);
            if (e == null) {
                return insert(key, build);
            }
            if (e.tryAcquire()) {
                e.lastUse = ++clock;
                return e;
            }
            entries.remove(key, e); // freed meanwhile: make it again
        }
    }

    @SuppressWarnings("unchecked")
    private synchronized <K, P extends Plan> Entry<P> insert(K key, Function<? super K, ? extends P> build) {
        Entry<P> known = (Entry<P>) entries.get(key);
        if (known != null && known.tryAcquire()) {
            known.lastUse = ++clock;
            return known;
        }
        P plan;
        try {
            plan = build.apply(key);
        } catch (OutOfMemoryError oom) {
            // JavaCPP's cap (or malloc) refused a scratchpad: give cached memory back and try once more, as the
            // backend's allocator does for tensors.
            onOutOfMemory.run();
            plan = build.apply(key);
        }
        Entry<P> e = new Entry<>(plan, 2); // the cache's reference and the caller's
        e.lastUse = ++clock;
        entries.put(key, e);
        evictBeyondBounds(e);
        return e;
    }

    /** Evicts least recently used plans, other than {@code keep}, until the cache is within its bounds. */
    private void evictBeyondBounds(Entry<?> keep) {
        long bytes = 0;
        for (Entry<?> e : entries.values()) {
            bytes += e.plan.bytes();
        }
        while (entries.size() > 1 && (entries.size() > maxPlans || bytes > maxBytes)) {
            Map.Entry<Object, Entry<?>> oldest = null;
            for (Map.Entry<Object, Entry<?>> me : entries.entrySet()) {
                if (me.getValue() != keep && (oldest == null || me.getValue().lastUse < oldest.getValue().lastUse)) {
                    oldest = me;
                }
            }
            if (oldest == null) {
                return;
            }
            Entry<?> victim = oldest.getValue();
            if (entries.remove(oldest.getKey(), victim)) {
                bytes -= victim.plan.bytes();
                evictions++;
                victim.release(); // the cache's reference: freed now, or by the last thread running it
            }
        }
    }

    /** Evicts every plan; each is freed now, or when the last thread running it releases it. */
    synchronized void clear() {
        for (Map.Entry<Object, Entry<?>> me : entries.entrySet()) {
            if (entries.remove(me.getKey(), me.getValue())) {
                me.getValue().release();
            }
        }
    }

    /** Plans held now. */
    int size() {
        return entries.size();
    }

    /** Native bytes the held plans' buffers hold now. */
    long bytes() {
        long bytes = 0;
        for (Entry<?> e : entries.values()) {
            bytes += e.plan.bytes();
        }
        return bytes;
    }

    /** Plans evicted so far. */
    synchronized long evictions() {
        return evictions;
    }

    /** Held plans whose key {@code filter} accepts (for diagnostics). */
    int count(Predicate<Object> filter) {
        int n = 0;
        for (Object k : entries.keySet()) {
            n += filter.test(k) ? 1 : 0;
        }
        return n;
    }

    int maxPlans() {
        return maxPlans;
    }

    long maxBytes() {
        return maxBytes;
    }
}
