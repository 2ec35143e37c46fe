package dev.gradus.spi;

import java.nio.FloatBuffer;

/**
 * An elementwise in-place update written in Java, for {@link Backend#runUpdate}: over the elements
 * {@code [from, to)} it reads {@code updated}, {@code inputs} and {@code scalars} and writes the new values into
 * {@code updated}, element {@code i} of the results depending only on element {@code i} of the operands.
 *
 * <p>Shapes: every view holds the same {@code n} elements, row-major from index 0 (absolute {@code get(i)} and
 * {@code put(i, v)}, bulk forms included; positions and limits are the caller's); the inputs are read-only. A
 * backend may call the kernel on several disjoint ranges at once from different threads (the CPU backend does),
 * so it must touch no element outside its range and keep nothing after it returns; it must not change
 * {@code scalars}.
 *
 * <pre>{@code
 * UpdateKernel axpy = (u, in, s, from, to) -> {
 *     for (int i = from; i < to; i++) u[0].put(i, u[0].get(i) + s[0] * in[0].get(i));
 * };
 * }</pre>
 */
@FunctionalInterface
public interface UpdateKernel {
    /** Updates elements {@code [from, to)} of {@code updated} in place; see the class comment. */
    void run(FloatBuffer[] updated, FloatBuffer[] inputs, float[] scalars, int from, int to);
}
