package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TransformsTest {
    @Test
    void normalizeFitsTheKnownMnistStatistics() throws IOException {
        Dataset train = Mnist.load(RealData.dir("mnist")).train();
        Normalize n = Normalize.fit(train);
        assertEquals(0.1307, n.mean()[0], 5e-4);
        assertEquals(0.3081, n.std()[0], 5e-4);
        float[] item = Arrays.copyOf(train.features(), 784);
        Normalize.of(0.1307f, 0.3081f).apply(item, 0, train.itemShape(), null);
        assertEquals((0f - 0.1307f) / 0.3081f, item[0], 1e-6);
        assertThrows(IllegalArgumentException.class, () -> Normalize.of(0f, 0f));
    }

    @Test
    void affineWithZeroRangesIsTheIdentity() {
        float[] img = new float[2 * 5 * 7];
        for (int i = 0; i < img.length; i++) {
            img[i] = i;
        }
        float[] copy = img.clone();
        new RandomAffine(0, 0, 0, 0).apply(img, 0, new int[] {2, 5, 7}, new Rng(1));
        assertArrayEquals(copy, img, 1e-5f);
    }

    @Test
    void affineMatchesHandComputedShiftAndRotation() {
        float[] img = new float[5 * 5];
        img[2 * 5 + 2] = 1f; // centre pixel
        float[] shifted = img.clone();
        RandomAffine.transform(shifted, 0, 1, 5, 5, 0, 1, 1, 1, 0); // one pixel right
        assertEquals(1f, shifted[2 * 5 + 3], 1e-6);
        assertEquals(0f, shifted[2 * 5 + 2], 1e-6);
        float[] dot = new float[5 * 5];
        dot[0 * 5 + 2] = 1f; // top middle
        RandomAffine.transform(dot, 0, 1, 5, 5, Math.PI / 2, 1, 1, 0, 0);
        // output p samples the input at R(90deg)(p - c) + c: the middle-left output pixel reads the top middle
        assertEquals(1f, dot[2 * 5 + 0], 1e-5);
        assertEquals(0f, dot[0 * 5 + 2], 1e-5);
        float[] half = new float[5 * 5];
        half[2 * 5 + 2] = 1f;
        RandomAffine.transform(half, 0, 1, 5, 5, 0, 1, 1, 0.5, 0); // half a pixel: bilinear splits the value
        assertEquals(0.5f, half[2 * 5 + 2], 1e-6);
        assertEquals(0.5f, half[2 * 5 + 3], 1e-6);
    }

    @Test
    void augmentationIsDeterministicUnderASeedAndLooksRight() throws IOException {
        Dataset train = Mnist.load(RealData.dir("mnist")).train().subset(0, 32);
        Backend cpu = CpuBackendProvider.get();
        RandomAffine aug = new RandomAffine(10, 0.1f, 0.1f, 0.1f);
        float[] a = firstBatch(new DataLoader(train, 32).transform(aug, 5), cpu);
        float[] b = firstBatch(new DataLoader(train, 32).transform(aug, 5).prefetch(2), cpu);
        float[] c = firstBatch(new DataLoader(train, 32).transform(aug, 6), cpu);
        assertArrayEquals(a, b, 0f, "same seed, with or without prefetch");
        assertNotEquals(Arrays.hashCode(a), Arrays.hashCode(c), "another seed, other images");
        assertNotEquals(Arrays.hashCode(a), Arrays.hashCode(train.features()));
        float[] grid = new float[64 * 784];
        for (int i = 0; i < 32; i++) {
            System.arraycopy(train.features(), i * 784, grid, 2 * i * 784, 784);
            System.arraycopy(a, i * 784, grid, (2 * i + 1) * 784, 784);
        }
        Path png = Path.of("target", "augmented-digits.png");
        ImageGrid.write(png, grid, 64, 8, 28, 28, 0f, 1f, 2);
        assertTrue(Files.size(png) > 1000);
        // an augmented digit keeps most of its ink
        double inkBefore = 0;
        double inkAfter = 0;
        for (int i = 0; i < 32 * 784; i++) {
            inkBefore += train.features()[i];
            inkAfter += a[i];
        }
        assertEquals(1.0, inkAfter / inkBefore, 0.15);
    }

    private static float[] firstBatch(DataLoader loader, Backend cpu) {
        try (Scope s = Scope.open()) {
            for (DataLoader.Batch b : loader.epoch(cpu)) {
                return b.x().toFloatArray();
            }
        }
        throw new AssertionError("no batch");
    }

    @Test
    void gaussianNoiseAddsNoiseOfTheGivenStdReproducibly() {
        int[] shape = {1, 28, 28};
        float[] base = new float[3 * 784];
        Arrays.fill(base, 0.5f);
        float[] a = base.clone();
        float[] b = base.clone();
        GaussianNoise noise = new GaussianNoise(0.1f);
        for (int i = 0; i < 3; i++) {
            noise.apply(a, i * 784, shape, new Rng(11));
            noise.apply(b, i * 784, shape, new Rng(11));
        }
        assertArrayEquals(a, b);
        double sum = 0;
        double sq = 0;
        for (float v : a) {
            sum += v - 0.5;
            sq += (v - 0.5) * (v - 0.5);
        }
        assertEquals(0, sum / a.length, 0.01);
        assertEquals(0.1, Math.sqrt(sq / a.length), 0.01);
        float[] c = base.clone();
        new GaussianNoise(0f).apply(c, 0, shape, new Rng(1));
        assertArrayEquals(base, c);
        assertThrows(IllegalArgumentException.class, () -> new GaussianNoise(Float.NaN));
    }

    /** A grid saved through a symbolic link keeps the link (ImageIO alone deletes it and writes a new file). */
    @Test
    void aGridIsSavedAtomically(@TempDir Path dir) throws Exception {
        Path real = dir.resolve("grid-1.png");
        Files.write(real, new byte[] {1});
        Path link = Files.createSymbolicLink(dir.resolve("grid.png"), real.getFileName());
        ImageGrid.write(link, new float[4 * 4], 1, 1, 4, 4, 0f, 1f, 1);
        assertTrue(Files.isSymbolicLink(link));
        assertTrue(Files.size(real) > 50);
    }
}
