package dev.gradus.datasets;

import java.util.Arrays;

/**
 * Examples held on the Java heap: features as floats, one row per example, and integer labels.
 *
 * <p>Shapes: {@code features [n * prod(itemShape)]}, {@code labels [n]}. {@code mnist.train().itemShape()} is
 * {@code [1, 28, 28]}. An unlabelled set (a Kaggle {@code test.csv}) has {@code labeled == false} and zero labels.
 */
public record Dataset(String name, float[] features, int[] labels, int[] itemShape, int classes, boolean labeled)
        implements MapDataset {
    /** A labelled data set. */
    public Dataset(String name, float[] features, int[] labels, int[] itemShape, int classes) {
        this(name, features, labels, itemShape, classes, true);
    }

    /** An unlabelled data set of {@code features.length / prod(itemShape)} items. */
    public static Dataset unlabeled(String name, float[] features, int[] itemShape, int classes) {
        int per = 1;
        for (int d : itemShape) {
            per *= d;
        }
        return new Dataset(name, features, new int[features.length / Math.max(1, per)], itemShape, classes, false);
    }

    public Dataset {
        int per = 1;
        for (int d : itemShape) {
            if (d < 0) {
                per = 0;
                break;
            }
            try {
                per = Math.multiplyExact(per, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(
                        name + ": item shape " + Arrays.toString(itemShape) + " holds more than 2^31 values", e);
            }
        }
        if (per == 0 || features.length % per != 0 || features.length / per != labels.length) {
            throw new IllegalArgumentException(name + ": " + features.length + " feature values do not make "
                    + labels.length + " items of shape " + Arrays.toString(itemShape));
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException(
                        name + ": label " + labels[i] + " of item " + i + " is outside [0, " + classes + ")");
            }
        }
    }

    /** Number of examples. */
    @Override
    public int size() {
        return labels.length;
    }

    /** Example {@code i}: a copy of its features and its label. */
    @Override
    public Example get(int i) {
        int per = itemSize();
        return Example.of(Arrays.copyOfRange(features, i * per, (i + 1) * per), labels[i]);
    }

    /** Null: the targets are class indices. */
    @Override
    public int[] targetShape() {
        return null;
    }

    /** Feature values per example. */
    public int itemSize() {
        // From the shape, not features / items: an empty data set still has items of 784 pixels.
        int per = 1;
        for (int d : itemShape) {
            per = Math.multiplyExact(per, d);
        }
        return per;
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
        return new Dataset(
                name,
                Arrays.copyOfRange(features, from * per, to * per),
                Arrays.copyOfRange(labels, from, to),
                itemShape,
                classes,
                labeled);
    }

    /** The items at {@code indices}, in that order. */
    public Dataset select(String newName, int[] indices) {
        int per = itemSize();
        float[] f = new float[indices.length * per];
        int[] y = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            System.arraycopy(features, indices[i] * per, f, i * per, per);
            y[i] = labels[indices[i]];
        }
        return new Dataset(newName, f, y, itemShape, classes, labeled);
    }

    /** A train/validation pair. */
    public record Split(Dataset train, Dataset valid) {}

    /**
     * A seeded random split, as fastai's {@code RandomSplitter(valid_pct)}: {@code validFraction} of the items,
     * drawn by a permutation from {@code seed}, form the validation set.
     */
    public Split randomSplit(double validFraction, long seed) {
        if (!(validFraction >= 0 && validFraction < 1)) {
            throw new IllegalArgumentException(name + ": validation fraction must be in [0, 1), got " + validFraction);
        }
        int[] perm = new dev.gradus.Rng(seed).permutation(size());
        int nValid = (int) Math.round(size() * validFraction);
        return new Split(
                select(name + "/train", Arrays.copyOfRange(perm, nValid, perm.length)),
                select(name + "/valid", Arrays.copyOfRange(perm, 0, nValid)));
    }

    /** All features as one tensor {@code [n, ...itemShape]} on {@code device}. */
    public dev.gradus.Tensor featureTensor(dev.gradus.Device device) {
        return featureTensor(dev.gradus.Backends.of(device));
    }

    /** Labels as an INT32 tensor {@code [n]} on {@code device}. */
    public dev.gradus.Tensor labelTensor(dev.gradus.Device device) {
        return labelTensor(dev.gradus.Backends.of(device));
    }

    /** Labels as a one-hot FLOAT32 tensor {@code [n, classes]} on {@code device}. */
    public dev.gradus.Tensor oneHotTensor(dev.gradus.Device device) {
        return oneHotTensor(dev.gradus.Backends.of(device));
    }

    /** All features as one tensor {@code [n, ...itemShape]} on {@code backend} (SPI level; users pass a Device). */
    public dev.gradus.Tensor featureTensor(dev.gradus.spi.Backend backend) {
        int[] shape = new int[itemShape.length + 1];
        shape[0] = size();
        System.arraycopy(itemShape, 0, shape, 1, itemShape.length);
        return dev.gradus.Tensor.of(backend, features, shape);
    }

    /** Labels as an INT32 tensor {@code [n]}. */
    public dev.gradus.Tensor labelTensor(dev.gradus.spi.Backend backend) {
        return dev.gradus.Tensor.ofInts(backend, labels, size());
    }

    /** Labels as a one-hot FLOAT32 tensor {@code [n, classes]}. */
    public dev.gradus.Tensor oneHotTensor(dev.gradus.spi.Backend backend) {
        return dev.gradus.Tensor.of(backend, oneHot(), size(), classes);
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
