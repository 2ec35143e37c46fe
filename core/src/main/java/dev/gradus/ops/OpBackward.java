package dev.gradus.ops;

import dev.gradus.Tensor;

/**
 * An op's backward: the gradient of each input from the gradient of the output, written in tensor ops (or other
 * {@link Op}s); null where an input needs none. It runs with gradients off, and only when some input requires one.
 *
 * <p>Shapes: {@code dOut} and {@code out} have the output's shape; gradient {@code j} must have input {@code j}'s
 * (the engine checks).
 *
 * <pre>{@code (dOut, out, in) -> new Tensor[] {dOut.mul(in[0].cos())}   // sin's}</pre>
 */
@FunctionalInterface
public interface OpBackward {
    /** The inputs' gradients, in input order. */
    Tensor[] apply(Tensor dOut, Tensor out, Tensor[] inputs);
}
