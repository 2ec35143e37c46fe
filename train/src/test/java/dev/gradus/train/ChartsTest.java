package dev.gradus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.gradus.metrics.History;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Charts are PNG only: XChart's PDF, SVG and GIF exports, and what they pull in, stay off the class path. */
class ChartsTest {
    @Test
    void curvesArePngWithoutXChartsPdfLibraries(@TempDir Path dir) throws Exception {
        // What XChart's PDF export put on every application's compile class path (pdfbox, commons-logging).
        for (String cls : new String[] {
            "org/apache/pdfbox/pdmodel/PDDocument.class",
            "org/apache/commons/logging/LogFactory.class",
            "de/rototor/pdfbox/graphics2d/PdfBoxGraphics2D.class",
            "de/erichseifert/vectorgraphics2d/VectorGraphics2D.class"
        }) {
            assertNull(ChartsTest.class.getClassLoader().getResource(cls), cls + " is on the class path");
        }
        History h = new History();
        h.add(Map.of("epoch", 1.0, "loss", 0.5, "accuracy", 0.8));
        h.add(Map.of("epoch", 2.0, "loss", 0.3, "accuracy", 0.9));
        Path png = dir.resolve("curves.png");
        Charts.curves(h, png);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(1120, img.getWidth());
    }
}
