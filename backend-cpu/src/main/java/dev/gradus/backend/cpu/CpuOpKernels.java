package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;

import dev.gradus.spi.OpKernels;
import dev.gradus.spi.Operand;
import java.nio.FloatBuffer;

/**
 * Runs an op's Java kernel ({@link OpKernels#java}) on views of the storages' own native memory: each input made
 * plain first ({@link CpuStorage#plain}: a oneDNN op may have left it blocked), then sliced from its offset; no
 * copies. Core hands contiguous inputs and a dense output ({@link OpKernels#check}).
 */
final class CpuOpKernels {
    private CpuOpKernels() {}

    static void run(OpKernels kernels, Operand[] inputs, Operand out) {
        kernels.check(inputs, out);
        FloatBuffer[] views = new FloatBuffer[inputs.length];
        int[][] shapes = new int[inputs.length][];
        for (int j = 0; j < inputs.length; j++) {
            Operand in = inputs[j];
            views[j] = plain(in).f.slice(in.layout().offset(), in.numel());
            shapes[j] = in.shape().clone();
        }
        kernels.runJava(
                views, shapes, plain(out).f.slice(0, out.numel()), out.shape().clone());
    }
}
