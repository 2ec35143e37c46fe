package dev.gradus.ops;

import java.util.Arrays;

/**
 * An op's output shape from its inputs' shapes, checked before anything runs; it throws
 * {@link IllegalArgumentException} (any message, or none) when the shapes do not fit, and {@link Op#apply} turns
 * that into a message naming the op and the shapes, such as {@code fma: [3, 4] x [3, 4] x [5]}.
 *
 * <p>Shapes: one {@code int[]} per input, outermost axis first; the result is the output's.
 *
 * <pre>{@code ShapeRule r = shapes -> shapes[0];   // the output has the first input's shape}</pre>
 */
@FunctionalInterface
public interface ShapeRule {
    /** The output's shape for inputs of {@code shapes}; throws {@link IllegalArgumentException} when they do not fit. */
    int[] outputShape(int[][] shapes);

    /** Every input has the same shape, which the output has too (an elementwise op without broadcasting). */
    static ShapeRule sameShapes() {
        return shapes -> {
            for (int[] s : shapes) {
                if (!Arrays.equals(s, shapes[0])) {
                    throw new IllegalArgumentException("inputs must have the same shape");
                }
            }
            return shapes[0].clone();
        };
    }

    /** The output has the first input's shape; the others may be anything the kernel accepts. */
    static ShapeRule likeFirst() {
        return shapes -> shapes[0].clone();
    }
}
