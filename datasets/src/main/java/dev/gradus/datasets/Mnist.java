package dev.gradus.datasets;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * MNIST handwritten digits from the four standard IDX files, pixels scaled to [0, 1].
 *
 * <p>Shapes: items {@code [1, 28, 28]}, 60,000 train and 10,000 test examples, labels 0..9.
 *
 * <pre>{@code
 * Mnist.Splits mnist = Mnist.load(null);          // $GRADUS_DATA/mnist or ~/.gradus/datasets/mnist
 * Dataset train = mnist.train();
 * }</pre>
 */
public final class Mnist {
    private Mnist() {}

    /** The train and test splits. */
    public record Splits(Dataset train, Dataset test) {}

    /** The digit names. */
    public static final List<String> CLASS_NAMES = List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");

    /** Loads MNIST from {@code dir}, or from the default places when null; never downloads. */
    public static Splits load(Path dir) throws IOException {
        return loadIdxPair("mnist", dir, 10, null);
    }

    /**
     * As {@link #load(Path)}, but when the files are nowhere to be found and {@code download} is true, fetches them
     * (SHA-256 checked) into {@code dir}, or {@code ~/.gradus/datasets/mnist} when null, first; see
     * {@link Download} for the mirror and offline settings.
     */
    public static Splits load(Path dir, boolean download) throws IOException {
        return loadIdxPair("mnist", dir, 10, download ? Download.MNIST : null);
    }

    static Splits loadIdxPair(String name, Path explicit, int classes, List<Download.Resource> download)
            throws IOException {
        Path dir;
        try {
            dir = DataDirs.locate(name, explicit, "train-images-idx3-ubyte");
        } catch (FileNotFoundException e) {
            if (download == null) {
                throw e;
            }
            dir = explicit != null ? explicit : DataDirs.cacheDir().resolve(name);
            if (Download.offline()) {
                throw DataDirs.notFound(name, explicit, "train-images-idx3-ubyte", true);
            }
            Download.fetchAll(Download.forDataset(name, download), dir, System.err);
        }
        return new Splits(split(name + "/train", dir, "train", classes), split(name + "/test", dir, "t10k", classes));
    }

    private static Dataset split(String name, Path dir, String prefix, int classes) throws IOException {
        Path imagesFile = DataDirs.resolve(dir, prefix + "-images-idx3-ubyte");
        Path labelsFile = DataDirs.resolve(dir, prefix + "-labels-idx1-ubyte");
        Idx.Array images = Idx.read(imagesFile);
        Idx.Array labels = Idx.read(labelsFile);
        if (images.type() != Idx.Type.UBYTE || images.dims().length != 3) {
            throw new IdxFormatException(
                    imagesFile.toString(),
                    0,
                    "expected unsigned-byte images [n, rows, cols], got " + images.type() + " "
                            + Arrays.toString(images.dims()));
        }
        if (images.count() == 0) {
            // An empty split trains or tests on nothing without a word; a zero row or column size has no pixels.
            throw new IdxFormatException(
                    imagesFile.toString(), 4, "holds no images: dimensions " + Arrays.toString(images.dims()));
        }
        if (labels.type() != Idx.Type.UBYTE || labels.dims().length != 1) {
            throw new IdxFormatException(
                    labelsFile.toString(),
                    0,
                    "expected unsigned-byte labels [n], got " + labels.type() + " " + Arrays.toString(labels.dims()));
        }
        if (images.dims()[0] != labels.dims()[0]) {
            throw new IdxFormatException(
                    labelsFile.toString(),
                    4,
                    labels.dims()[0] + " labels for " + images.dims()[0] + " images in " + imagesFile);
        }
        int[] y = labels.toInts();
        for (int i = 0; i < y.length; i++) {
            if (y[i] >= classes) {
                throw new IdxFormatException(
                        labelsFile.toString(),
                        8L + i,
                        "label " + y[i] + " of item " + i + " is outside 0.." + (classes - 1));
            }
        }
        return new Dataset(
                name, images.toFloats(1f / 255f), y, new int[] {1, images.dims()[1], images.dims()[2]}, classes);
    }
}
