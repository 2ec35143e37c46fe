package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.asStored;

import dev.gradus.DType;
import dev.gradus.spi.MemoryStats;
import dev.gradus.spi.Storage;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;

/**
 * The CPU backend's native memory: storages handed out, taken back into a bounded per-size cache, and counted.
 *
 * <p>Freed storages go to a per-size cache, so a training loop in steady state makes no native allocations. The
 * cache is bounded: it holds at most as many bytes as were ever live at once (at least 16 MiB), or
 * {@code gradus.cpu.maxCachedBytes} when that is set, and gives up the least recently used sizes first. When a
 * native allocation fails (JavaCPP's cap, {@code -Xmx} by default, or malloc), the whole cache is given back and
 * the allocation retried once, as PyTorch's caching allocator does.
 */
final class CpuAllocator {
    /** Freed storages by size, least recently used size first. */
    private final LinkedHashMap<Long, ArrayDeque<CpuStorage>> cache = new LinkedHashMap<>(16, 0.75f, true);

    /** The floor of the cache's bound: small workloads keep every size. */
    static final long MIN_CACHE_BYTES = 16L << 20;
    /** A fixed bound on the cached bytes ({@code gradus.cpu.maxCachedBytes}), or -1 for the peak live bytes. */
    private final long maxCachedBytes = cacheLimitProperty();

    private long liveBytes;
    private long peakLiveBytes;
    private long reservedBytes;
    private long allocations;

    private static long key(DType dtype, int numel) {
        return ((long) numel << 1) | dtype.ordinal();
    }

    /**
     * Java kernels address a storage through one direct {@code ByteBuffer} (int positions, 2^31-1 bytes at most), so
     * a storage holds at most {@code (2^31-1) / bytes} elements: 536870911 floats.
     */
    static int maxElements(DType dtype) {
        return Integer.MAX_VALUE / dtype.bytes();
    }

    private static long cacheLimitProperty() {
        String v = System.getProperty("gradus.cpu.maxCachedBytes");
        if (v == null || v.isBlank()) {
            return -1;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "gradus.cpu.maxCachedBytes must be a byte count >= 0, got \"" + v + "\"");
        }
    }

    /** The most bytes the cache keeps: the configured bound, else the peak live bytes (at least 16 MiB). */
    synchronized long cacheLimit() {
        return maxCachedBytes >= 0 ? maxCachedBytes : Math.max(MIN_CACHE_BYTES, peakLiveBytes);
    }

    synchronized Storage allocate(DType dtype, int numel) {
        if (numel < 0 || numel > maxElements(dtype)) {
            throw new IllegalArgumentException("cpu backend: cannot allocate " + numel + " " + dtype
                    + " elements; one storage holds at most " + maxElements(dtype)
                    + " (2^31-1 bytes, a direct buffer's limit)");
        }
        long key = key(dtype, numel);
        ArrayDeque<CpuStorage> q = cache.get(key);
        CpuStorage cached = q == null ? null : q.poll();
        // A fresh handle on the cached memory: the old handle stays released, so a stale pin fails (CpuStorage).
        CpuStorage s = cached == null ? null : new CpuStorage(cached);
        if (q != null && q.isEmpty()) {
            cache.remove(key);
        }
        if (s == null) {
            s = newStorage(dtype, numel);
            allocations++;
        } else {
            reservedBytes -= s.bytes();
        }
        s.handOut();
        s.setLayout(null);
        liveBytes += s.bytes();
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return s;
    }

    /** A fresh native storage; when that fails, gives the cache back and tries once more. */
    private CpuStorage newStorage(DType dtype, int numel) {
        try {
            return new CpuStorage(dtype, numel);
        } catch (OutOfMemoryError e) {
            if (reservedBytes == 0) {
                throw e;
            }
            trim();
            return new CpuStorage(dtype, numel);
        }
    }

    void free(Storage storage) {
        CpuStorage s = asStored(storage);
        boolean idle = s.release(); // throws for a storage already freed; contents no longer matter
        synchronized (this) {
            liveBytes -= s.bytes();
        }
        if (idle) {
            recycle(s);
        }
    }

    /** Puts a released storage that no op holds back in the cache. */
    synchronized void recycle(CpuStorage s) {
        s.takeBack();
        reservedBytes += s.bytes();
        cache.computeIfAbsent(key(s.dtype(), s.numel()), k -> new ArrayDeque<>())
                .push(s);
        evict(cacheLimit());
    }

    /** Frees cached storages, least recently used sizes first, until at most {@code limit} bytes stay cached. */
    private synchronized void evict(long limit) {
        var it = cache.values().iterator();
        while (reservedBytes > limit && it.hasNext()) {
            ArrayDeque<CpuStorage> q = it.next();
            while (reservedBytes > limit && !q.isEmpty()) {
                CpuStorage s = q.pollLast();
                reservedBytes -= s.bytes();
                s.deallocate();
            }
            if (q.isEmpty()) {
                it.remove();
            }
        }
    }

    /** Frees every cached storage. */
    synchronized void trim() {
        for (ArrayDeque<CpuStorage> q : cache.values()) {
            for (CpuStorage s : q) {
                s.deallocate();
            }
        }
        cache.clear();
        reservedBytes = 0;
    }

    synchronized MemoryStats memory() {
        return new MemoryStats(liveBytes, reservedBytes, allocations);
    }
}
