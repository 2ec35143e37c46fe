package dev.gradus.datasets;

import dev.gradus.Rng;

/**
 * Changes one item's features in place, on the host, before it becomes part of a batch.
 *
 * <p>Shapes: the item is {@code data[offset .. offset + prod(shape))} with {@code shape = [C, H, W]} for images.
 * Random transforms draw only from {@code rng}, so a seeded loader is reproducible.
 *
 * <pre>{@code loader.transform(Normalize.of(0.1307f, 0.3081f));}</pre>
 */
@FunctionalInterface
public interface Transform {
    /** Transforms the item at {@code offset} in place. */
    void apply(float[] data, int offset, int[] shape, Rng rng);

    /** This transform, then {@code next}. */
    default Transform andThen(Transform next) {
        return (data, offset, shape, rng) -> {
            apply(data, offset, shape, rng);
            next.apply(data, offset, shape, rng);
        };
    }
}
