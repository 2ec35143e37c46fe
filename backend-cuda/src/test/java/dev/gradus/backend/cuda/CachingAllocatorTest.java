package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The device allocator's cache against a fake device with a fixed capacity. */
class CachingAllocatorTest {
    /** A device of {@code capacity} bytes that hands out increasing addresses. */
    static final class FakeDevice implements CachingAllocator.DeviceMemory {
        final long capacity;
        final Map<Long, Long> blocks = new HashMap<>();
        long used;
        long next = 0x1000;
        int mallocCalls;
        int freeCalls;

        FakeDevice(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public long malloc(long bytes) {
            mallocCalls++;
            if (used + bytes > capacity) {
                return 0;
            }
            long p = next;
            next += bytes;
            blocks.put(p, bytes);
            used += bytes;
            return p;
        }

        @Override
        public void free(long pointer) {
            freeCalls++;
            Long b = blocks.remove(pointer);
            if (b == null) {
                throw new AssertionError("device free of an unknown pointer");
            }
            used -= b;
        }
    }

    @Test
    void sizeClassesRoundUpByAtMostAQuarter() {
        assertEquals(512, CachingAllocator.sizeClass(0));
        assertEquals(512, CachingAllocator.sizeClass(1));
        assertEquals(512, CachingAllocator.sizeClass(512));
        assertEquals(640, CachingAllocator.sizeClass(513));
        assertEquals(1024, CachingAllocator.sizeClass(1000));
        assertEquals(1 << 20, CachingAllocator.sizeClass(1 << 20));
        assertEquals(5 << 18, CachingAllocator.sizeClass((1 << 20) + 1));
        for (long b = 1; b < 10_000_000; b = b * 3 + 7) {
            long c = CachingAllocator.sizeClass(b);
            assertTrue(c >= b && (c <= 512 || c <= b * 1.25 + 1), b + " -> " + c);
            assertEquals(c, CachingAllocator.sizeClass(c), "a class is its own class");
        }
    }

    @Test
    void aSteadyLoopStopsCallingTheDevice() {
        FakeDevice dev = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(dev);
        long[] sizes = {4 * 128 * 784, 4 * 128 * 48, 4 * 128 * 10, 4 * 96 * 784, 4 * 37_632};
        for (int step = 0; step < 50; step++) {
            List<Long> ps = new ArrayList<>();
            for (long s : sizes) {
                ps.add(a.allocate(s));
            }
            for (Long p : ps) {
                a.release(p);
            }
            if (step == 0) {
                assertEquals(sizes.length, a.mallocs());
            }
        }
        assertEquals(sizes.length, dev.mallocCalls, "after the first step every block comes from the cache");
        assertEquals(0, a.liveBytes());
        assertEquals(dev.used, a.reservedBytes());
        a.trim();
        assertEquals(0, dev.used, "trim gives everything back");
        assertEquals(0, a.reservedBytes());
    }

    @Test
    void outOfMemoryEmptiesTheCacheRetriesThenNamesTheNumbers() {
        FakeDevice dev = new FakeDevice(4096);
        CachingAllocator a = new CachingAllocator(dev);
        long small = a.allocate(2048);
        a.release(small); // cached, 2048 bytes held on the device
        long big = a.allocate(3000); // class 3072: fits only after the cache is emptied
        assertNotEquals(0, big);
        assertEquals(1, dev.freeCalls);
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> a.allocate(8000));
        assertTrue(
                e.getMessage().contains("8,000 bytes") && e.getMessage().contains("3,072 bytes are live"),
                e.getMessage());
        a.release(big);
        assertThrows(IllegalStateException.class, () -> a.release(big));
    }
}
