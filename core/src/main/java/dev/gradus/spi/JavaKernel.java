package dev.gradus.spi;

import java.nio.FloatBuffer;

/**
 * A kernel written in Java: reads its inputs and writes every element of its output, all plain row-major float
 * views indexed from 0 (absolute {@code get(i)} and {@code put(i, v)}; positions and limits are the caller's).
 *
 * <p>Shapes: {@code inputs[j]} holds {@code shapes[j]}'s elements, {@code out} holds {@code outShape}'s. On the CPU
 * backend the views are the storages' own native memory (no copy), on the others host copies. A kernel runs on the
 * calling thread and must not keep the views after it returns.
 *
 * <pre>{@code
 * JavaKernel twice = (in, shapes, out, outShape) -> {
 *     for (int i = 0; i < out.limit(); i++) out.put(i, 2 * in[0].get(i));
 * };
 * }</pre>
 */
@FunctionalInterface
public interface JavaKernel {
    /** Computes {@code out} from {@code inputs}; see the class comment for the views' form. */
    void run(FloatBuffer[] inputs, int[][] shapes, FloatBuffer out, int[] outShape);
}
