package dev.gradus.datasets;

import java.util.Arrays;

/**
 * Labelled examples held on the Java heap: features as floats, one row per example, and integer labels.
 *
 * <p>Shapes: {@code features [n * prod(itemShape)]}, {@code labels [n]}. {@code mnist.train().itemShape()} is
 * {@code [1, 28, 28]}.
 */
public record Dataset(String name, float[] features, int[] labels, int[] itemShape, int classes) {
    public Dataset {
        int per = 1;
        for (int d : itemShape) {
            per *= d;
        }
        if (per == 0 || features.length % per != 0 || features.length / per != labels.length) {
            throw new IllegalArgumentException(name + ": " + features.length + " feature values do not make "
                    + labels.length + " items of shape " + Arrays.toString(itemShape));
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException(name + ": label " + labels[i] + " of item " + i
                        + " is outside [0, " + classes + ")");
            }
        }
    }

    /** Number of examples. */
    public int size() {
        return labels.length;
    }

    /** Feature values per example. */
    public int itemSize() {
        return features.length / Math.max(1, labels.length);
    }

    /** Count of each label. */
    public int[] labelHistogram() {
        int[] h = new int[classes];
        for (int y : labels) {
            h[y]++;
        }
        return h;
    }

    /** The examples {@code [from, to)} as a new dataset. */
    public Dataset subset(int from, int to) {
        if (from < 0 || to > size() || from > to) {
            throw new IllegalArgumentException(name + ": subset [" + from + ", " + to + ") of " + size() + " items");
        }
        int per = itemSize();
        return new Dataset(name, Arrays.copyOfRange(features, from * per, to * per), Arrays.copyOfRange(labels, from, to),
                itemShape, classes);
    }

    /** Labels as one-hot rows {@code [n * classes]}. */
    public float[] oneHot() {
        float[] out = new float[labels.length * classes];
        for (int i = 0; i < labels.length; i++) {
            out[i * classes + labels[i]] = 1f;
        }
        return out;
    }
}
