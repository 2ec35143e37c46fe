package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.gradus.Functional;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.PoolParams;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One thread reads a convolution's output that oneDNN left in a blocked layout ({@code nChw16c}, or
 * {@code nChw8c} under {@code ONEDNN_MAX_CPU_ISA=AVX2}) while another thread reads the same tensor's values, which
 * rewrites it to plain order in place. The first thread's answer must be the one it gives alone: the conversion
 * waits for blocked readers, and a reader that comes after it reads plain data.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BlockedReadWhileConvertedTest {
    private static final int ROUNDS = 60;
    private static final ConvParams SAME = new ConvParams(1, 1, 1, 1, 1, 1, 1);

    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void stop() throws InterruptedException {
        pool.shutdownNow();
        pool.awaitTermination(10, TimeUnit.SECONDS);
    }

    @Test
    void aConvolutionReadingABlockedInputGetsItsOwnAnswer() throws Exception {
        Backend cpu = CpuBackendProvider.get();
        try (Tensor w2 = Tensor.of(cpu, RandomArrays.centred(32 * 32 * 9, 7), 32, 32, 3, 3)) {
            readWhileConverted(cpu, x -> Functional.conv2d(x, w2, null, SAME));
        }
    }

    @Test
    void maxPoolingReadingABlockedInputGetsItsOwnAnswer() throws Exception {
        readWhileConverted(CpuBackendProvider.get(), x -> Functional.maxPool2d(x, new PoolParams(2, 2, 2, 2, 0, 0)));
    }

    @Test
    void anElementwiseOpOnABlockedInputGetsItsOwnAnswer() throws Exception {
        readWhileConverted(CpuBackendProvider.get(), x -> x.mul(3f).relu());
    }

    @Test
    void aPerChannelAffineOnABlockedInputGetsItsOwnAnswer() throws Exception {
        Backend cpu = CpuBackendProvider.get();
        try (Tensor scale = Tensor.of(cpu, RandomArrays.centred(32, 8), 1, 32, 1, 1)) {
            readWhileConverted(cpu, x -> x.mul(scale));
        }
    }

    /**
     * Per round: a fresh blocked activation {@code x = conv(input)}, then, started together, {@code op(x)} on one
     * thread and {@code x.toFloatArray()} (a conversion to plain) on the other; {@code op(x)} must equal its answer
     * on an activation nobody converts.
     */
    private static void readWhileConverted(Backend cpu, UnaryOperator<Tensor> op) throws Exception {
        int n = 16;
        int c = 32;
        try (Tensor input = Tensor.of(cpu, RandomArrays.centred(n * 8 * 28 * 28, 1), n, 8, 28, 28);
                Tensor w1 = Tensor.of(cpu, RandomArrays.centred(c * 8 * 9, 2), c, 8, 3, 3)) {
            float[] expected;
            try (Scope s = Scope.open()) {
                expected = op.apply(Functional.conv2d(input, w1, null, SAME)).toFloatArray();
            }
            CyclicBarrier together = new CyclicBarrier(2);
            for (int round = 0; round < ROUNDS; round++) {
                try (Scope s = Scope.open()) {
                    Tensor x = Functional.conv2d(input, w1, null, SAME);
                    Future<float[]> reader = pool.submit(() -> {
                        together.await(10, TimeUnit.SECONDS);
                        try (Scope inner = Scope.open()) {
                            return op.apply(x).toFloatArray();
                        }
                    });
                    Future<float[]> converter = pool.submit(() -> {
                        together.await(10, TimeUnit.SECONDS);
                        return x.toFloatArray();
                    });
                    converter.get(60, TimeUnit.SECONDS);
                    assertArrayEquals(expected, reader.get(60, TimeUnit.SECONDS), "round " + round);
                }
            }
        }
    }
}
