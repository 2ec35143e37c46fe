package dev.gradus.datasets;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Fashion-MNIST (Zalando): 28x28 grey images of ten kinds of clothing, in MNIST's IDX layout.
 *
 * <p>Shapes: items {@code [1, 28, 28]}, 60,000 train and 10,000 test, labels 0..9 named by {@link #CLASS_NAMES}.
 *
 * <pre>{@code Mnist.Splits fashion = FashionMnist.load(null);}</pre>
 */
public final class FashionMnist {
    private FashionMnist() {}

    /** Class names, index = label. */
    public static final List<String> CLASS_NAMES = List.of(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    /** Loads from {@code dir}, or from {@code $GRADUS_DATA/fashion-mnist}, then the cache; never downloads. */
    public static Mnist.Splits load(Path dir) throws IOException {
        return Mnist.loadIdxPair("fashion-mnist", dir, 10, null);
    }

    /** As {@link #load(Path)}, downloading (SHA-256 checked) into the cache when absent and {@code download}. */
    public static Mnist.Splits load(Path dir, boolean download) throws IOException {
        return Mnist.loadIdxPair("fashion-mnist", dir, 10, download ? Download.FASHION_MNIST : null);
    }
}
