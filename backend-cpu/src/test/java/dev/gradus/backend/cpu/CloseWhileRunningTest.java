package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.DType;
import dev.gradus.Functional;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Storage;
import dev.gradus.testing.CloseRace;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Misuse from two threads: one thread's op reads a tensor while another thread closes it, trims the backend's cache
 * and allocates (and scribbles over) memory of the same size. The op must either finish with the right answer or
 * fail with a clear "released" error, never read memory that was freed or handed out again.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CloseWhileRunningTest {
    private static final int ROUNDS = 40;

    @Test
    void aProductWhoseInputIsClosedMidwayFinishesRightOrSaysItWasReleased() throws Exception {
        Backend cpu = CpuBackendProvider.get();
        int n = 384;
        float[] a = RandomArrays.centred(n * n, 1);
        try (Tensor w = Tensor.of(cpu, RandomArrays.centred(n * n, 2), n, n)) {
            survivesClosing(cpu, a, new int[] {n, n}, x -> x.matmul(w));
        }
    }

    @Test
    void aConvolutionWhoseInputIsClosedMidwayFinishesRightOrSaysItWasReleased() throws Exception {
        Backend cpu = CpuBackendProvider.get();
        int[] shape = {32, 16, 28, 28};
        float[] a = RandomArrays.centred(32 * 16 * 28 * 28, 3);
        try (Tensor w = Tensor.of(cpu, RandomArrays.centred(32 * 16 * 9, 4), 32, 16, 3, 3)) {
            survivesClosing(cpu, a, shape, x -> Functional.conv2d(x, w, null, new ConvParams(1, 1, 1, 1, 1, 1, 1)));
        }
    }

    /**
     * The race a pin alone cannot close: an op took a tensor's storage before another thread closed the tensor and
     * the backend handed the same memory to a new tensor. The op's late pin must fail, not reach the new tensor.
     */
    @Test
    void aStorageHandedOutAgainIsNotReachableThroughItsOldHandle() {
        Backend cpu = CpuBackendProvider.get();
        Storage old = cpu.allocate(DType.FLOAT32, 1000);
        cpu.free(old); // back in the cache
        Storage reused = cpu.allocate(DType.FLOAT32, 1000); // the same memory, for someone else's tensor
        try {
            cpu.write(reused, 0, new float[] {42f}, 0, 1);
            float[] got = new float[1];
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> cpu.read(old, 0, got, 0, 1));
            assertTrue(e.getMessage().contains("released") || e.getMessage().contains("freed"), e.getMessage());
            assertTrue(got[0] != 42f, "nothing read through the stale handle");
        } finally {
            cpu.free(reused);
        }
    }

    private static void survivesClosing(Backend cpu, float[] data, int[] shape, Function<Tensor, Tensor> op)
            throws Exception {
        // 0 to 4 ms: some closes land before the kernel, some inside it
        CloseRace.survivesClosing(cpu, data, shape, op, ROUNDS, 100_000L);
    }
}
