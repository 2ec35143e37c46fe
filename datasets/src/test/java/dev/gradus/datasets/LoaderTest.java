package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Scope;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoaderTest {
    static Dataset toy(int n) {
        float[] x = new float[n * 2];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            x[2 * i] = i;
            x[2 * i + 1] = -i;
            y[i] = i % 10;
        }
        return new Dataset("toy", x, y, new int[] {2}, 10);
    }

    static List<Integer> order(DataLoader loader, Backend cpu) {
        List<Integer> out = new ArrayList<>();
        try (Scope s = Scope.open()) {
            for (DataLoader.Batch b : loader.epoch(cpu)) {
                float[] xv = b.x().toFloatArray();
                int[] yv = b.y().toIntArray();
                for (int i = 0; i < b.size(); i++) {
                    assertEquals(-xv[2 * i], xv[2 * i + 1], 0f);
                    assertEquals(((int) xv[2 * i]) % 10, yv[i]);
                    out.add((int) xv[2 * i]);
                }
            }
        }
        return out;
    }

    @Test
    void prefetchDeliversTheSameBatchesInTheSameOrder() {
        Backend cpu = CpuBackendProvider.get();
        Dataset d = toy(1001);
        DataLoader plain = new DataLoader(d, 64).shuffle(3);
        DataLoader ahead = new DataLoader(d, 64).shuffle(3).prefetch(3);
        for (int epoch = 0; epoch < 3; epoch++) {
            List<Integer> a = order(plain, cpu);
            assertEquals(a, order(ahead, cpu), "epoch " + epoch);
            assertEquals(1001, new HashSet<>(a).size());
        }
    }

    @Test
    void inOrderBatchesCopiedStraightFromTheDataSetMatchTheHostPath() {
        Backend cpu = CpuBackendProvider.get();
        Dataset d = toy(1001);
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 1001; i++) {
            expected.add(i);
        }
        // In order, untransformed (the direct copy), with and without prefetch, flattened or not: every item once,
        // in order, the short last batch included.
        assertEquals(expected, order(new DataLoader(d, 64), cpu));
        assertEquals(expected, order(new DataLoader(d, 64).prefetch(2).flatten(true), cpu));
        // A transform forces the host path; the identity transform must give the same batches.
        assertEquals(expected, order(new DataLoader(d, 64).transform((x, off, shape, rng) -> {}), cpu));
        try (Scope s = Scope.open()) {
            List<DataLoader.Batch> batches = new ArrayList<>();
            new DataLoader(d, 1000).epoch(cpu).forEach(batches::add);
            assertEquals(2, batches.size());
            assertArrayEquals(new int[] {1000, 2}, batches.get(0).x().shape().dims());
            assertArrayEquals(new int[] {1, 2}, batches.get(1).x().shape().dims());
            assertArrayEquals(new float[] {1000, -1000}, batches.get(1).x().toFloatArray());
        }
    }

    @Test
    void abandoningAnEpochHalfWayIsSafe() {
        Backend cpu = CpuBackendProvider.get();
        DataLoader ahead = new DataLoader(toy(500), 10).shuffle(1).prefetch(2);
        try (Scope s = Scope.open()) {
            for (DataLoader.Batch b : ahead.epoch(cpu)) {
                break;
            }
        }
        assertEquals(500, order(ahead, cpu).size());
    }

    /** Live threads whose name is {@code name}. */
    static long threads(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().equals(name))
                .count();
    }

    /** Waits up to 10 s, collecting garbage, for at most {@code max} loader threads to remain. */
    static long awaitLoaderThreads(long max) throws InterruptedException {
        long n = threads("gradus-dataloader");
        for (int i = 0; i < 200 && n > max; i++) {
            System.gc();
            Thread.sleep(50);
            n = threads("gradus-dataloader");
        }
        return n;
    }

    @Test
    void epochsLeftWithBreakLeaveNoThreadBehind() throws InterruptedException {
        Backend cpu = CpuBackendProvider.get();
        long before = awaitLoaderThreads(0);
        DataLoader ahead = new DataLoader(toy(500), 10).shuffle(1).prefetch(2);
        for (int epoch = 0; epoch < 300; epoch++) {
            try (Scope s = Scope.open()) {
                for (DataLoader.Batch b : ahead.epoch(cpu)) {
                    break;
                }
            }
        }
        // Each new epoch stopped the one before it; the last one stops when it is collected.
        assertTrue(awaitLoaderThreads(before + 1) <= before + 1, "threads left: " + threads("gradus-dataloader"));
        abandonOneEpoch(new DataLoader(toy(500), 10).shuffle(2).prefetch(2), cpu);
        ahead = null;
        assertEquals(before, awaitLoaderThreads(before), "an abandoned, unreachable epoch keeps its thread");
        // try-with-resources stops it at once, without the collector.
        DataLoader closing = new DataLoader(toy(500), 10).shuffle(3).prefetch(2);
        try (Scope s = Scope.open();
                DataLoader.Epoch epoch = closing.epoch(cpu)) {
            for (DataLoader.Batch b : epoch) {
                break;
            }
        }
        for (int i = 0; i < 100 && threads("gradus-dataloader") > before; i++) {
            Thread.sleep(20);
        }
        assertEquals(before, threads("gradus-dataloader"));
        assertEquals(500, order(closing, cpu).size(), "the loader still serves full epochs");
    }

    private static void abandonOneEpoch(DataLoader loader, Backend cpu) {
        try (Scope s = Scope.open()) {
            for (DataLoader.Batch b : loader.epoch(cpu)) {
                break;
            }
        }
    }

    @Test
    void anEpochIsIteratedOnce() {
        Backend cpu = CpuBackendProvider.get();
        DataLoader.Epoch epoch =
                new DataLoader(toy(20), 10).prefetch(1).shuffle(1).epoch(cpu);
        epoch.iterator();
        IllegalStateException e = assertThrows(IllegalStateException.class, epoch::iterator);
        assertTrue(e.getMessage().contains("once"), e.getMessage());
        epoch.close();
        epoch.close();
    }

    @Test
    void anErrorInTheDataSetReachesTheConsumer() {
        Backend cpu = CpuBackendProvider.get();
        // An Error (here an assertion; in life an OutOfMemoryError or a StackOverflowError) used to kill the
        // loader's thread and leave the consumer waiting forever.
        DataLoader failing = new DataLoader(toy(50), 10)
                .transform((data, off, shape, rng) -> {
                    if (off > 0) {
                        throw new AssertionError("item check failed at " + off);
                    }
                })
                .prefetch(2);
        AssertionError e = assertTimeoutPreemptively(
                Duration.ofSeconds(20), () -> assertThrows(AssertionError.class, () -> order(failing, cpu)));
        assertTrue(e.getMessage().contains("item check failed"), e.getMessage());
        // A checked exception thrown past the compiler by a lazy data set is forwarded too.
        MapDataset sneaky = MapDataset.classes(
                30, new int[] {2}, i -> LoaderTest.<RuntimeException>sneakyThrow(new IOException("disk gone at " + i)));
        IllegalStateException e2 = assertTimeoutPreemptively(
                Duration.ofSeconds(20),
                () -> assertThrows(
                        IllegalStateException.class, () -> order(new DataLoader(sneaky, 10).prefetch(1), cpu)));
        assertTrue(e2.getMessage().contains("disk gone") && e2.getCause() instanceof IOException, e2.getMessage());
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> MapDataset.Example sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }

    @Test
    void randomSplitIsSeededDisjointAndComplete() {
        Dataset d = toy(1000);
        Dataset.Split s = d.randomSplit(0.2, 42);
        assertEquals(800, s.train().size());
        assertEquals(200, s.valid().size());
        Set<Float> all = new HashSet<>();
        for (Dataset part : List.of(s.train(), s.valid())) {
            for (int i = 0; i < part.size(); i++) {
                all.add(part.features()[2 * i]);
            }
        }
        assertEquals(1000, all.size());
        assertArrayEquals(s.valid().labels(), d.randomSplit(0.2, 42).valid().labels());
        assertThrows(IllegalArgumentException.class, () -> d.randomSplit(1.0, 1));
    }

    @Test
    void aFailingTransformSurfacesOnTheConsumingThread() {
        Backend cpu = CpuBackendProvider.get();
        DataLoader bad = new DataLoader(toy(50), 10)
                .transform((data, off, shape, rng) -> {
                    throw new IllegalArgumentException("boom at " + off);
                })
                .prefetch(1);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> order(bad, cpu));
        assertTrue(e.getMessage().contains("boom"), e.getMessage());
    }

    @Test
    void fashionMnistHasItsPublishedShape() throws IOException {
        Mnist.Splits f = FashionMnist.load(RealData.dir("fashion-mnist"));
        assertEquals(60000, f.train().size());
        assertEquals(10000, f.test().size());
        for (int count : f.train().labelHistogram()) {
            assertEquals(6000, count);
        }
        for (int count : f.test().labelHistogram()) {
            assertEquals(1000, count);
        }
        assertEquals("Ankle boot", FashionMnist.CLASS_NAMES.get(9));
        float[] oneHot = f.test().subset(0, 2).oneHot();
        assertEquals(1f, oneHot[f.test().labels()[0]]);
        assertEquals(20, oneHot.length);
        Backend cpu = CpuBackendProvider.get();
        try (Scope s = Scope.open()) {
            Dataset head = f.test().subset(0, 5);
            assertEquals(
                    dev.gradus.Shape.of(5, 1, 28, 28), head.featureTensor(cpu).shape());
            assertArrayEquals(head.labels(), head.labelTensor(cpu).toIntArray());
            assertArrayEquals(head.labels(), head.oneHotTensor(cpu).argmax(1).toIntArray());
        }
    }
}
