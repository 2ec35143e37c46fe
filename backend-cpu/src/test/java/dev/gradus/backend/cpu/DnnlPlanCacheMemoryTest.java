package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A server's inference over many batch sizes keeps the oneDNN plans' native memory flat: every product on oneDNN
 * (a plan per batch size and layer, about 260 KB of scratchpad each for {@code [b, 784] x [784, 256]}) under a
 * 2 MiB plan bound. With the bound at 1 GB ({@code -Dtest.maxPlanBytes=1000000000}) the same loop kept all 400
 * plans and native memory outside tensors grew 59 MB from batch 50 to 200: the test fails on the growth.
 */
class DnnlPlanCacheMemoryTest {
    private static final long BOUND = 2L << 20;

    @Test
    void inferenceOverManyBatchSizesKeepsPlanMemoryFlat() {
        CpuBackend cpu = CpuBackendProvider.get();
        Assumptions.assumeTrue(cpu.dnnlPlans() != null, "oneDNN is not loaded here");
        String before = System.getProperty("gradus.dnnl.maxPlanBytes");
        CpuBackend be;
        System.setProperty("gradus.dnnl.maxPlanBytes", System.getProperty("test.maxPlanBytes", Long.toString(BOUND)));
        try {
            be = cpu.withMatmulsOnDnnl(); // a fresh backend, so a fresh cache with that bound
        } finally {
            if (before == null) {
                System.clearProperty("gradus.dnnl.maxPlanBytes");
            } else {
                System.setProperty("gradus.dnnl.maxPlanBytes", before);
            }
        }
        DnnlPlanCache plans = be.dnnlPlans();
        long callsBefore = be.dnnlMatmulCalls();
        long nativeAt50 = 0;
        long maxPlanBytes = 0;
        Rng rng = new Rng(4);
        try (Sequential model = new Sequential(
                new Dense(be, 784, 256, true, Init.GLOROT, rng),
                new ReLU(),
                new Dense(be, 256, 10, true, Init.GLOROT, rng))) {
            for (int batch = 1; batch <= 200; batch++) {
                try (Scope s = Scope.open()) {
                    int[] p = model.forward(Tensor.zeros(be, batch, 784))
                            .argmax(1)
                            .toIntArray();
                    assertEquals(batch, p.length);
                }
                maxPlanBytes = Math.max(maxPlanBytes, plans.bytes());
                if (batch == 50) {
                    nativeAt50 = nativeOutsideTensors(be);
                }
            }
            long growth = nativeOutsideTensors(be) - nativeAt50;
            assertEquals(400, be.dnnlMatmulCalls() - callsBefore, "every product ran on oneDNN");
            assertTrue(
                    growth < BOUND,
                    "native memory outside tensors grew " + growth + " bytes from batch 50 to 200 (" + plans.size()
                            + " plans held, " + plans.evictions() + " evicted)");
        } finally {
            be.trim();
        }
        assertEquals(0, plans.size(), "trim frees the plans");
        assertEquals(0, plans.bytes());
    }

    /** JavaCPP's allocated bytes less the backend's tensors, live and cached. */
    private static long nativeOutsideTensors(CpuBackend be) {
        return Pointer.totalBytes() - be.memory().liveBytes() - be.memory().reservedBytes();
    }
}
