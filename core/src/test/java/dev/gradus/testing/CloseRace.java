package dev.gradus.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Closing a tensor while another thread's op reads it: the op must finish on the original values or fail with an
 * {@link IllegalStateException} saying the tensor was released, never read a block handed out again.
 *
 * <pre>{@code
 * CloseRace.survivesClosing(cpu, data, new int[] {n, n}, x -> x.matmul(w), 40, 100_000L);
 * }</pre>
 */
public final class CloseRace {
    private CloseRace() {}

    /**
     * Runs {@code rounds} races: a reader thread applies {@code op} to a fresh tensor of {@code data} while this
     * thread waits {@code round * stepNanos}, closes it, trims the backend's cache and allocates (and fills with
     * NaN) a tensor of the same size. Returns how many rounds the op finished (the others were refused).
     */
    public static int survivesClosing(
            Backend be, float[] data, int[] shape, Function<Tensor, Tensor> op, int rounds, long stepNanos)
            throws InterruptedException {
        float[] expected;
        try (Scope s = Scope.open()) {
            expected = op.apply(Tensor.of(be, data, shape)).toFloatArray();
        }
        int finished = 0;
        int refused = 0;
        for (int round = 0; round < rounds; round++) {
            Tensor x = Tensor.of(be, data, shape);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread reader = new Thread(
                    () -> {
                        try (Scope s = Scope.open()) {
                            started.countDown();
                            outcome.set(op.apply(x).toFloatArray());
                        } catch (RuntimeException e) {
                            outcome.set(e);
                        }
                    },
                    "reader-" + round);
            reader.start();
            started.await();
            busyWait(round * stepNanos); // some closes land before the op, some inside it
            x.close();
            be.trim();
            try (Tensor scribble = Tensor.full(be, Float.NaN, shape)) {
                be.trim();
            }
            reader.join();
            Object o = outcome.get();
            if (o instanceof float[] got) {
                assertArrayEquals(expected, got, "round " + round + ": the op finished, so on the original values");
                finished++;
            } else {
                RuntimeException e = (RuntimeException) o;
                String msg = String.valueOf(e.getMessage());
                assertTrue(
                        e instanceof IllegalStateException && (msg.contains("released") || msg.contains("freed")),
                        "round " + round + ": " + e);
                refused++;
            }
        }
        assertEquals(rounds, finished + refused);
        return finished;
    }

    private static void busyWait(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }
}
