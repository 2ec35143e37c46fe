package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Functional;
import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.ConvParams;
import dev.gradus.testing.CloseRace;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One CUDA backend used from many Java threads at once, on the {@link CudaEmulator}: a model shared by 8 threads in
 * evaluation mode answers bit for bit as on one thread, a model built on one thread runs and is closed on another,
 * and a tensor closed on one thread while another thread's op reads it is given back only after that op. The
 * emulator runs one stream and cannot show a cuBLAS or cuDNN handle used by two threads at once; what it does show
 * is that the pools, pins and per-thread binding keep every answer right and leave no memory behind.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CudaThreadSafetyTest {
    private static final int THREADS = 8;
    private static final int BATCHES_PER_THREAD = 4;
    private static final int BATCH = 4;
    private static final int[] IMAGE = {1, 6, 6};

    private static CudaBackend cuda;

    @BeforeAll
    static void emulator() {
        cuda = CudaEmulator.backend();
    }

    /** Convolution (cuDNN), batch norm in eval mode, pooling and a dense layer (cuBLAS): every kind of state. */
    private static Sequential model(long seed) {
        Rng rng = new Rng(seed);
        Sequential m = new Sequential(
                new Conv2d(cuda, Conv2d.Config.of(1, 4, 3).withPadding(1), rng),
                new BatchNorm2d(cuda, BatchNorm2d.Config.of(4)),
                new ReLU(),
                new MaxPool2d(2),
                new Flatten(),
                new Dense(cuda, 36, 5, true, Init.GLOROT, rng));
        m.eval();
        return m;
    }

    private static float[] random(int n, long seed) {
        Rng rng = new Rng(seed);
        float[] v = new float[n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return v;
    }

    private static float[] images(int n, long seed) {
        return random(n * IMAGE[0] * IMAGE[1] * IMAGE[2], seed);
    }

    /** The model's outputs for batch {@code b} of {@code images}. */
    private static float[] logits(Sequential model, float[] images, int b) {
        int per = IMAGE[0] * IMAGE[1] * IMAGE[2];
        float[] x = new float[BATCH * per];
        System.arraycopy(images, b * BATCH * per, x, 0, x.length);
        try (GradMode ng = GradMode.noGrad();
                Scope s = Scope.open()) {
            return model.forward(Tensor.of(cuda, x, BATCH, IMAGE[0], IMAGE[1], IMAGE[2]))
                    .toFloatArray();
        }
    }

    @Test
    void eightThreadsSharingAModelAnswerAsOneThreadDoes() throws Exception {
        int batches = THREADS * BATCHES_PER_THREAD;
        float[] images = images(batches * BATCH, 5);
        try (Sequential model = model(3)) {
            float[][] single = new float[batches][];
            for (int b = 0; b < batches; b++) {
                single[b] = logits(model, images, b);
            }
            long liveBefore = cuda.memory().liveBytes();
            float[][] multi = new float[batches][];
            CyclicBarrier start = new CyclicBarrier(THREADS);
            List<Callable<Void>> jobs = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int first = t;
                jobs.add(() -> {
                    start.await(); // all threads at once, each new to the backend
                    for (int b = first; b < batches; b += THREADS) {
                        multi[b] = logits(model, images, b);
                    }
                    return null;
                });
            }
            runAll(jobs);
            for (int b = 0; b < batches; b++) {
                assertArrayEquals(single[b], multi[b], "batch " + b + " on 8 threads at once");
            }
            assertEquals(liveBefore, cuda.memory().liveBytes(), "no device memory left behind by the threads");
            // Every handle is idle again, and no more were made than calls could overlap.
            assertTrue(cuda.idleBlasHandles() >= 1 && cuda.idleBlasHandles() <= THREADS, "cuBLAS handles");
            assertTrue(cuda.idleCudnnHandles() >= 1 && cuda.idleCudnnHandles() <= THREADS, "cuDNN handles");
        }
    }

    @Test
    void aModelBuiltOnOneThreadRunsAndClosesOnAnother() throws Exception {
        float[] images = images(2 * BATCH, 7);
        long liveBefore = cuda.memory().liveBytes();
        AtomicReference<Sequential> handed = new AtomicReference<>();
        float[][] there = new float[3][];
        // Built and first run on a thread of its own, which then ends, as a request thread does.
        runOnNewThread("builder", () -> {
            Sequential m = model(11);
            there[0] = logits(m, images, 0);
            handed.set(m);
        });
        Sequential model = handed.get();
        assertArrayEquals(there[0], logits(model, images, 0), "the same batch on the next thread");
        // A third thread runs it, then closes it: its memory goes back though another thread made it.
        runOnNewThread("user", () -> {
            there[1] = logits(model, images, 0);
            there[2] = logits(model, images, 1);
            model.close();
        });
        assertArrayEquals(there[0], there[1], "the same batch on a third thread");
        try (Sequential again = model(11)) {
            assertArrayEquals(there[2], logits(again, images, 1), "the second batch, against a fresh copy");
        }
        assertEquals(liveBefore, cuda.memory().liveBytes(), "the model closed on another thread freed its memory");
    }

    @Test
    void aProductWhoseInputIsClosedMidwayFinishesRightOrSaysItWasReleased() throws Exception {
        int n = 48;
        try (Tensor w = Tensor.of(cuda, random(n * n, 2), n, n)) {
            survivesClosing(random(n * n, 1), new int[] {n, n}, x -> x.matmul(w));
        }
    }

    @Test
    void aConvolutionWhoseInputIsClosedMidwayFinishesRightOrSaysItWasReleased() throws Exception {
        ConvParams same = new ConvParams(1, 1, 1, 1, 1, 1, 1);
        try (Tensor w = Tensor.of(cuda, random(4 * 3 * 9, 4), 4, 3, 3, 3)) {
            int[] shape = {4, 3, 8, 8};
            survivesClosing(random(4 * 3 * 8 * 8, 3), shape, x -> Functional.conv2d(x, w, null, same));
        }
    }

    /**
     * One thread's op reads {@code x} while this thread closes it, trims the cache and allocates (and fills with
     * NaN) a tensor of the same size: the op must finish on the original values or fail saying the tensor was
     * released, never read a block that was handed out again or given back to the driver.
     */
    private static void survivesClosing(float[] data, int[] shape, Function<Tensor, Tensor> op) throws Exception {
        // 0 to 1 ms: some closes land before the op, some inside it
        CloseRace.survivesClosing(cuda, data, shape, op, 24, 50_000L);
    }

    private static void runOnNewThread(String name, Runnable body) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable guarded = () -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        };
        Thread t = new Thread(guarded, name);
        t.start();
        t.join();
        if (failure.get() != null) {
            throw new AssertionError("on thread " + name + ": " + failure.get(), failure.get());
        }
    }

    private static void runAll(List<Callable<Void>> jobs) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(jobs.size());
        try {
            for (Future<Void> f : pool.invokeAll(jobs)) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
