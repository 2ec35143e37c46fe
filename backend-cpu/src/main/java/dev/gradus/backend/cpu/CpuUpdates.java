package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;

import dev.gradus.spi.Operand;
import dev.gradus.spi.UpdateKernels;
import java.nio.FloatBuffer;

/**
 * Runs an elementwise in-place update ({@link UpdateKernels}, an optimizer's fused step) on views of the storages'
 * own native memory, no copies, split into contiguous ranges over the backend's threads.
 */
final class CpuUpdates {
    /** Elements touched per index, for {@link Parallel#forRange}: about an Adam step's. */
    private static final long COST = 8;

    private final Parallel parallel;

    CpuUpdates(Parallel parallel) {
        this.parallel = parallel;
    }

    void run(UpdateKernels kernels, Operand[] updated, Operand[] inputs, float[] scalars) {
        int n = kernels.check(updated, inputs, scalars);
        FloatBuffer[] u = views(updated, n);
        FloatBuffer[] in = views(inputs, n);
        parallel.forRange(n, COST, (from, to) -> kernels.runJava(u, in, scalars, from, to));
    }

    /** Each operand's elements as a view from index 0; made plain first (a oneDNN op may have left it blocked). */
    private static FloatBuffer[] views(Operand[] operands, int n) {
        FloatBuffer[] views = new FloatBuffer[operands.length];
        for (int j = 0; j < operands.length; j++) {
            views[j] = plain(operands[j]).f.slice(operands[j].layout().offset(), n);
        }
        return views;
    }
}
