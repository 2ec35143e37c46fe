package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The bounded, reference-counted oneDNN plan cache, on stand-in plans that record their use and freeing. */
class DnnlPlanCacheTest {
    /** A plan of {@code bytes} that counts its frees and fails when run after being freed. */
    private static final class FakePlan implements DnnlPlanCache.Plan {
        final int key;
        final long bytes;
        final AtomicInteger frees = new AtomicInteger();
        final AtomicInteger running = new AtomicInteger();
        volatile boolean freedWhileRunning;

        FakePlan(int key, long bytes) {
            this.key = key;
            this.bytes = bytes;
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public void free() {
            if (running.get() != 0) {
                freedWhileRunning = true;
            }
            frees.incrementAndGet();
        }

        void run() {
            running.incrementAndGet();
            try {
                if (frees.get() != 0) {
                    throw new IllegalStateException("plan " + key + " ran after it was freed");
                }
                Thread.onSpinWait();
            } finally {
                running.decrementAndGet();
            }
        }
    }

    private record Key(int id) {}

    private static final class Maker implements Function<Key, FakePlan> {
        final long bytes;
        final ConcurrentLinkedQueue<FakePlan> made = new ConcurrentLinkedQueue<>();

        Maker(long bytes) {
            this.bytes = bytes;
        }

        @Override
        public FakePlan apply(Key k) {
            FakePlan p = new FakePlan(k.id, bytes);
            made.add(p);
            return p;
        }
    }

    private static FakePlan use(DnnlPlanCache cache, int key, Maker maker) {
        DnnlPlanCache.Entry<FakePlan> e = cache.acquire(new Key(key), maker);
        try {
            e.plan().run();
            return e.plan();
        } finally {
            e.release();
        }
    }

    @Test
    void aHitReturnsTheSamePlanAndMakesNone() {
        DnnlPlanCache cache = new DnnlPlanCache(4, 1 << 20);
        Maker maker = new Maker(10);
        FakePlan first = use(cache, 1, maker);
        assertSame(first, use(cache, 1, maker));
        assertEquals(1, maker.made.size());
        assertEquals(1, cache.size());
        assertEquals(10, cache.bytes());
    }

    @Test
    void evictsTheLeastRecentlyUsedPastTheCount() {
        DnnlPlanCache cache = new DnnlPlanCache(3, 1 << 20);
        Maker maker = new Maker(10);
        FakePlan p1 = use(cache, 1, maker);
        FakePlan p2 = use(cache, 2, maker);
        FakePlan p3 = use(cache, 3, maker);
        use(cache, 1, maker); // 2 is now the least recently used
        FakePlan p4 = use(cache, 4, maker);
        assertEquals(3, cache.size());
        assertEquals(1, cache.evictions());
        assertEquals(1, p2.frees.get(), "the least recently used plan was freed");
        assertEquals(0, p1.frees.get() + p3.frees.get() + p4.frees.get());
        assertNotSame(p2, use(cache, 2, maker), "an evicted plan is made again");
        assertEquals(5, maker.made.size());
    }

    @Test
    void evictsPastTheBytes() {
        DnnlPlanCache cache = new DnnlPlanCache(100, 250);
        Maker maker = new Maker(100);
        for (int k = 0; k < 10; k++) {
            use(cache, k, maker);
            assertTrue(cache.bytes() <= 250, "after plan " + k + ": " + cache.bytes() + " bytes");
        }
        assertEquals(2, cache.size());
        assertEquals(8, cache.evictions());
        assertEquals(8, maker.made.stream().filter(p -> p.frees.get() == 1).count());
    }

    @Test
    void aPlanLargerThanTheBoundIsStillUsedAlone() {
        DnnlPlanCache cache = new DnnlPlanCache(100, 50);
        Maker maker = new Maker(100);
        use(cache, 1, maker);
        assertEquals(1, cache.size());
        use(cache, 2, maker);
        assertEquals(1, cache.size());
        assertEquals(1, maker.made.peek().frees.get());
    }

    @Test
    void aPlanEvictedWhileHeldIsFreedByItsLastUser() {
        DnnlPlanCache cache = new DnnlPlanCache(1, 1 << 20);
        Maker maker = new Maker(10);
        DnnlPlanCache.Entry<FakePlan> held = cache.acquire(new Key(1), maker);
        DnnlPlanCache.Entry<FakePlan> second = cache.acquire(new Key(1), maker);
        assertSame(held.plan(), second.plan());
        assertEquals(3, held.refs(), "the cache's reference and two users'");
        use(cache, 2, maker); // evicts plan 1 from the cache
        assertEquals(1, cache.evictions());
        assertEquals(0, held.plan().frees.get(), "not freed under its users");
        held.plan().run();
        second.release();
        assertEquals(0, held.plan().frees.get(), "not freed under its last user");
        held.plan().run();
        held.release();
        assertEquals(1, held.plan().frees.get(), "freed by its last user");
        assertFalse(held.tryAcquire(), "a freed plan cannot be taken again");
        assertThrows(IllegalStateException.class, held::release);
    }

    @Test
    void clearFreesIdlePlansNowAndHeldOnesOnRelease() {
        DnnlPlanCache cache = new DnnlPlanCache(10, 1 << 20);
        Maker maker = new Maker(10);
        FakePlan idle = use(cache, 1, maker);
        DnnlPlanCache.Entry<FakePlan> held = cache.acquire(new Key(2), maker);
        cache.clear();
        assertEquals(0, cache.size());
        assertEquals(1, idle.frees.get());
        assertEquals(0, held.plan().frees.get());
        held.release();
        assertEquals(1, held.plan().frees.get());
        assertNotSame(idle, use(cache, 1, maker));
    }

    @Test
    void aPlanThatRanOutOfMemoryIsMadeAgainAfterMemoryWasGivenBack() {
        AtomicInteger givenBack = new AtomicInteger();
        DnnlPlanCache cache = new DnnlPlanCache(10, 1 << 20, givenBack::incrementAndGet);
        AtomicInteger tries = new AtomicInteger();
        Function<Key, FakePlan> failsOnce = k -> {
            if (tries.incrementAndGet() == 1) {
                throw new OutOfMemoryError("Cannot allocate new BytePointer(263680)");
            }
            return new FakePlan(k.id, 10);
        };
        DnnlPlanCache.Entry<FakePlan> e = cache.acquire(new Key(1), failsOnce);
        e.release();
        assertEquals(2, tries.get());
        assertEquals(1, givenBack.get());
        assertEquals(1, cache.size());
    }

    @Test
    void rejectsBadBounds() {
        assertThrows(IllegalArgumentException.class, () -> new DnnlPlanCache(0, 1));
        assertThrows(IllegalArgumentException.class, () -> new DnnlPlanCache(1, -1));
    }

    /**
     * Eight threads run plans of 24 keys through a cache of 5 while a ninth clears it now and then: no plan runs
     * after it was freed, none is freed while running or twice, and every plan made is freed once the cache is
     * cleared at the end.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void concurrentUseNeverFreesAPlanUnderItsUsers() throws Exception {
        DnnlPlanCache cache = new DnnlPlanCache(5, 1 << 20);
        Maker maker = new Maker(10);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        int threads = 8;
        Thread[] workers = new Thread[threads + 1];
        for (int t = 0; t < threads; t++) {
            int seed = t;
            workers[t] = new Thread(() -> {
                Random r = new Random(seed);
                try {
                    start.await();
                    for (int i = 0; i < 20_000; i++) {
                        use(cache, r.nextInt(24), maker);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
        }
        workers[threads] = new Thread(() -> {
            try {
                start.await();
                for (int i = 0; i < 200; i++) {
                    cache.clear();
                    Thread.sleep(0, 200_000);
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
        for (Thread w : workers) {
            w.start();
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertTrue(cache.size() <= 5 + threads, "within the bound give or take racing inserts: " + cache.size());
        cache.clear();
        List<FakePlan> made = List.copyOf(maker.made);
        assertTrue(made.size() > 24, "plans were evicted and made again: " + made.size());
        for (FakePlan p : made) {
            assertEquals(1, p.frees.get(), "plan " + p.key + " freed once");
            assertFalse(p.freedWhileRunning, "plan " + p.key + " freed while running");
        }
    }
}
