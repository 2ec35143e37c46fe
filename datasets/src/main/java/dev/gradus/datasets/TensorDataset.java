package dev.gradus.datasets;

import dev.gradus.Shape;
import java.util.Arrays;

/**
 * Examples with float targets held on the Java heap, as PyTorch's {@code TensorDataset(x, y)}: regression values,
 * multi-label vectors or soft labels, one row per example.
 *
 * <p>Shapes: {@code features [n * prod(itemShape)]}, {@code targets [n * prod(targetShape)]}.
 *
 * <pre>{@code
 * TensorDataset houses = new TensorDataset("houses", x, new int[] {8}, prices, new int[] {1});
 * }</pre>
 */
public record TensorDataset(String name, float[] features, int[] itemShape, float[] targets, int[] targetShape)
        implements MapDataset {
    public TensorDataset {
        int per = Shape.of(itemShape).numel();
        int tper = Shape.of(targetShape).numel();
        if (per == 0 || features.length % per != 0) {
            throw new IllegalArgumentException(name + ": " + features.length + " feature values are not whole items of"
                    + " shape " + Arrays.toString(itemShape));
        }
        int n = features.length / per;
        if ((long) n * tper != targets.length) {
            throw new IllegalArgumentException(name + ": " + targets.length + " target values for " + n
                    + " items of target shape " + Arrays.toString(targetShape) + " (expected " + (long) n * tper + ")");
        }
        for (int i = 0; i < targets.length; i++) {
            if (!Float.isFinite(targets[i])) {
                throw new IllegalArgumentException(
                        name + ": target " + targets[i] + " of item " + i / Math.max(1, tper) + " is not finite");
            }
        }
        itemShape = itemShape.clone();
        targetShape = targetShape.clone();
    }

    @Override
    public int size() {
        return features.length / Shape.of(itemShape).numel();
    }

    @Override
    public Example get(int i) {
        int per = Shape.of(itemShape).numel();
        int tper = Shape.of(targetShape).numel();
        return Example.of(
                Arrays.copyOfRange(features, i * per, (i + 1) * per),
                Arrays.copyOfRange(targets, i * tper, (i + 1) * tper));
    }
}
