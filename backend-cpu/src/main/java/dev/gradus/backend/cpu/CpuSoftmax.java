package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;
import static dev.gradus.backend.cpu.Scratch.TILE;

import dev.gradus.spi.Operand;
import java.nio.FloatBuffer;

/** Log-softmax over the last axis of a dense operand, one row per task. */
final class CpuSoftmax {
    private final Parallel parallel;

    CpuSoftmax(Parallel parallel) {
        this.parallel = parallel;
    }

    void logSoftmax(Operand x, Operand out) {
        Operand.requireDense("logSoftmax", x, out);
        int[] shape = x.shape();
        int cols = shape.length == 0 ? 1 : shape[shape.length - 1];
        int rows = cols == 0 ? 0 : x.numel() / cols;
        FloatBuffer in = plain(x.storage()).f;
        FloatBuffer o = plain(out.storage()).f;
        int xOffset = 0;
        int outOffset = 0;
        if (cols > TILE) {
            float[] row = new float[cols];
            float[] res = new float[cols];
            for (int r = 0; r < rows; r++) {
                in.get(xOffset + r * cols, row, 0, cols);
                Kernels.logSoftmaxRow(row, res, cols);
                o.put(outOffset + r * cols, res, 0, cols);
            }
            return;
        }
        parallel.forRange(rows, cols * 3L, (from, to) -> {
            Scratch sc = Scratch.get();
            for (int r = from; r < to; r++) {
                in.get(xOffset + r * cols, sc.a, 0, cols);
                Kernels.logSoftmaxRow(sc.a, sc.b, cols);
                o.put(outOffset + r * cols, sc.b, 0, cols);
            }
        });
    }
}
