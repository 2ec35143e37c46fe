package dev.gradus.datasets;

import dev.gradus.io.AtomicFiles;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Writes grey images as one PNG grid, for looking at data and augmentations.
 *
 * <p>Shapes: {@code pixels [count * h * w]}, values mapped from {@code [lo, hi]} to black..white.
 *
 * <pre>{@code ImageGrid.write(Path.of("grid.png"), train.features(), 64, 8, 28, 28, 0f, 1f, 2);}</pre>
 */
public final class ImageGrid {
    private ImageGrid() {}

    /** Writes the first {@code count} images in rows of {@code perRow}, each scaled up {@code scale} times. */
    public static void write(
            Path file, float[] pixels, int count, int perRow, int h, int w, float lo, float hi, int scale)
            throws IOException {
        if ((long) count * h * w > pixels.length) {
            throw new IllegalArgumentException("ImageGrid: " + count + " images of " + h + "x" + w + " need "
                    + (long) count * h * w + " values, got " + pixels.length);
        }
        int rows = (count + perRow - 1) / perRow;
        int gap = 2;
        int cw = (w * scale + gap);
        int ch = (h * scale + gap);
        BufferedImage img = new BufferedImage(perRow * cw + gap, rows * ch + gap, BufferedImage.TYPE_BYTE_GRAY);
        var raster = img.getRaster();
        for (int i = 0; i < count; i++) {
            int ox = gap + (i % perRow) * cw;
            int oy = gap + (i / perRow) * ch;
            for (int y = 0; y < h * scale; y++) {
                for (int x = 0; x < w * scale; x++) {
                    float v = pixels[i * h * w + (y / scale) * w + (x / scale)];
                    int g = Math.round(255 * Math.max(0f, Math.min(1f, (v - lo) / (hi - lo))));
                    raster.setSample(ox + x, oy + y, 0, g);
                }
            }
        }
        // Encoded in memory, then written atomically: on a full disk the old picture stays and the error names it.
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try (ImageOutputStream out = new MemoryCacheImageOutputStream(png)) {
            if (!ImageIO.write(img, "png", out)) {
                throw new IOException(file + ": no PNG writer in this Java runtime");
            }
        }
        AtomicFiles.write(file, out -> png.writeTo(out));
    }
}
