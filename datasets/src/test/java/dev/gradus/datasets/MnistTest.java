package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MnistTest {
    /** Published MNIST label counts. */
    static final int[] TRAIN_COUNTS = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};

    static final int[] TEST_COUNTS = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};

    @Test
    void loadsTheRealFiles() throws IOException {
        Mnist.Splits m = Mnist.load(RealData.dir("mnist"));
        assertEquals(60000, m.train().size());
        assertEquals(10000, m.test().size());
        assertArrayEquals(new int[] {1, 28, 28}, m.train().itemShape());
        assertArrayEquals(TRAIN_COUNTS, m.train().labelHistogram());
        assertArrayEquals(TEST_COUNTS, m.test().labelHistogram());
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : m.train().features()) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertEquals(0f, min);
        assertEquals(1f, max);
    }

    @Test
    void mismatchedCountsAreReported(@TempDir Path dir) throws IOException {
        Idx.writeUbyte(dir.resolve("train-images-idx3-ubyte"), new int[] {3, 2, 2}, new byte[12]);
        Idx.writeUbyte(dir.resolve("train-labels-idx1-ubyte"), new int[] {2}, new byte[2]);
        Idx.writeUbyte(dir.resolve("t10k-images-idx3-ubyte"), new int[] {1, 2, 2}, new byte[4]);
        Idx.writeUbyte(dir.resolve("t10k-labels-idx1-ubyte"), new int[] {1}, new byte[] {12});
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Mnist.load(dir));
        assertTrue(e.getMessage().contains("2 labels for 3 images"), e.getMessage());
        Idx.writeUbyte(dir.resolve("train-labels-idx1-ubyte"), new int[] {3}, new byte[] {1, 2, 3});
        IdxFormatException e2 = assertThrows(IdxFormatException.class, () -> Mnist.load(dir));
        assertTrue(e2.getMessage().contains("label 12 of item 0"), e2.getMessage());
    }

    @Test
    void emptyOrZeroSizedImagesAreAFormatError(@TempDir Path dir) throws IOException {
        Idx.writeUbyte(dir.resolve("t10k-images-idx3-ubyte"), new int[] {1, 2, 2}, new byte[4]);
        Idx.writeUbyte(dir.resolve("t10k-labels-idx1-ubyte"), new int[] {1}, new byte[] {1});
        for (int[] dims : new int[][] {{0, 28, 28}, {3, 0, 28}, {3, 28, 0}}) {
            Idx.writeUbyte(dir.resolve("train-images-idx3-ubyte"), dims, new byte[0]);
            Idx.writeUbyte(dir.resolve("train-labels-idx1-ubyte"), new int[] {dims[0]}, new byte[dims[0]]);
            IdxFormatException e = assertThrows(IdxFormatException.class, () -> Mnist.load(dir));
            assertTrue(
                    e.getMessage().contains("train-images-idx3-ubyte")
                            && e.getMessage().contains("no images"),
                    e.getMessage());
        }
    }

    @Test
    void missingDataSaysWhereItLooked(@TempDir Path dir) {
        FileNotFoundException e = assertThrows(FileNotFoundException.class, () -> Mnist.load(dir.resolve("nope")));
        String m = e.getMessage();
        assertTrue(m.contains(dir.resolve("nope").toAbsolutePath().toString()), m);
        assertTrue(m.contains("train-images-idx3-ubyte") && m.contains("GRADUS_DATASETS_MIRROR/mnist/"), m);
        // A library message speaks of its API and settings, never of the examples' command-line flags.
        assertFalse(m.contains("--"), m);
        assertFalse(m.contains("\n"), m);
        assertTrue(e instanceof DataSetNotFoundException, "the examples add their flags to this type");
    }

    @Test
    void missingDataUnderTheDefaultsNamesThePathArgumentAndGradusData() {
        // No explicit folder: the search covers GRADUS_DATA (when set) and the per-user cache; a name no one has.
        FileNotFoundException e = assertThrows(
                FileNotFoundException.class, () -> Mnist.loadIdxPair("no-such-data-set-26", null, 10, null));
        String m = e.getMessage();
        assertTrue(m.contains("path argument") && m.contains("GRADUS_DATA"), m);
        assertTrue(m.contains(DataDirs.cacheDir().resolve("no-such-data-set-26").toString()), m);
        assertFalse(m.contains("--"), m);
    }
}
