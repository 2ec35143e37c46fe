package dev.gradus.backend.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Device memory with a cache of freed blocks, so that a training step in steady state calls neither
 * {@code cudaMalloc} nor {@code cudaFree} (PyTorch's caching allocator does the same).
 *
 * <p>Requests are rounded up to a size class (four classes per power of two, at least 512 bytes), so that tensors
 * of nearby sizes, such as the last, smaller batch of an epoch, reuse each other's blocks with at most 25% slack.
 * When the device runs out of memory the cache is given back and the request retried once; if it still fails the
 * error names the request, the live and the cached bytes.
 *
 * <p>Safe for many threads (every method holds the allocator's lock). A released block is handed out again at once,
 * with no event to wait for, because every thread queues its work on the backend's one stream: whoever gets the
 * block next queues behind the work of whoever released it. A backend with a stream per thread would need an event
 * per released block (as PyTorch's {@code recordStream}) before reusing it on another stream.
 *
 * <pre>{@code
 * CachingAllocator a = new CachingAllocator(cudaMemory);
 * long p = a.allocate(4 * 128 * 784);
 * a.release(p); // cached: the next request of that class gets it back
 * }</pre>
 */
final class CachingAllocator {
    /** The raw device allocator underneath (cudaMalloc/cudaFree on a GPU, a fake in tests). */
    interface DeviceMemory {
        /** Allocates {@code bytes}; returns 0 when the device is out of memory. */
        long malloc(long bytes);

        void free(long pointer);
    }

    static final long MIN_BLOCK = 512;

    private final DeviceMemory device;
    private final Map<Long, ArrayDeque<Long>> cached = new HashMap<>();
    private final Map<Long, Long> live = new HashMap<>();
    private long liveBytes;
    private long reservedBytes;
    private long mallocs;

    CachingAllocator(DeviceMemory device) {
        this.device = device;
    }

    /** The size class of a request: the next of {4, 5, 6, 7} x 2^k at or above it, at least {@link #MIN_BLOCK}. */
    static long sizeClass(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("CachingAllocator: negative size " + bytes);
        }
        if (bytes <= MIN_BLOCK) {
            return MIN_BLOCK;
        }
        int top = 63 - Long.numberOfLeadingZeros(bytes - 1); // 2^top < bytes <= 2^(top+1)
        long quarter = 1L << (top - 2);
        return ((bytes + quarter - 1) / quarter) * quarter;
    }

    /** A block of at least {@code bytes}, from the cache when one of its class is free. */
    synchronized long allocate(long bytes) {
        long size = sizeClass(bytes);
        ArrayDeque<Long> q = cached.get(size);
        Long p = q == null ? null : q.poll();
        if (p != null) {
            reservedBytes -= size;
        } else {
            long fresh = device.malloc(size);
            if (fresh == 0) {
                trim();
                fresh = device.malloc(size);
            }
            if (fresh == 0) {
                throw new OutOfMemoryError(String.format(
                        "cuda: out of device memory allocating %,d bytes (size class"
                                + " %,d); %,d bytes are live in tensors and the cache was emptied first; free tensors (close"
                                + " scopes) or use smaller batches",
                        bytes, size, liveBytes));
            }
            mallocs++;
            p = fresh;
        }
        live.put(p, size);
        liveBytes += size;
        return p;
    }

    /** Returns a block to the cache. */
    synchronized void release(long pointer) {
        Long size = live.remove(pointer);
        if (size == null) {
            throw new IllegalStateException(
                    String.format("cuda: block 0x%x released twice or never allocated here", pointer));
        }
        liveBytes -= size;
        reservedBytes += size;
        cached.computeIfAbsent(size, k -> new ArrayDeque<>()).push(pointer);
    }

    /** Gives every cached block back to the device. */
    synchronized void trim() {
        for (ArrayDeque<Long> q : cached.values()) {
            for (Long p : q) {
                device.free(p);
            }
        }
        cached.clear();
        reservedBytes = 0;
    }

    synchronized long liveBytes() {
        return liveBytes;
    }

    synchronized long reservedBytes() {
        return reservedBytes;
    }

    /** Device allocations made so far; flat in a steady-state loop. */
    synchronized long mallocs() {
        return mallocs;
    }
}
