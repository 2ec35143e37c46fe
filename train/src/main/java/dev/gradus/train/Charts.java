package dev.gradus.train;

import dev.gradus.io.AtomicFiles;
import dev.gradus.metrics.ConfusionMatrix;
import dev.gradus.metrics.History;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/** The pictures the examples write: learning curves, a confusion heat map, grids of labelled images. */
public final class Charts {
    private Charts() {}

    /** Loss and accuracy per epoch (train and held-out) as two side-by-side line charts in one PNG. */
    public static void curves(History h, Path file) throws IOException {
        double[] epochs = h.series("epoch");
        XYChart loss = new XYChartBuilder()
                .width(560)
                .height(400)
                .title("Loss")
                .xAxisTitle("epoch")
                .yAxisTitle("loss")
                .build();
        XYChart acc = new XYChartBuilder()
                .width(560)
                .height(400)
                .title("Accuracy")
                .xAxisTitle("epoch")
                .yAxisTitle("accuracy")
                .build();
        for (String c : h.columns()) {
            double[] v = h.series(c);
            if (c.endsWith("loss")) {
                loss.addSeries(c, epochs, v);
            } else if (c.endsWith("accuracy")) {
                acc.addSeries(c, epochs, v);
            }
        }
        BufferedImage a = BitmapEncoder.getBufferedImage(loss);
        BufferedImage b = BitmapEncoder.getBufferedImage(acc);
        BufferedImage both = new BufferedImage(
                a.getWidth() + b.getWidth(), Math.max(a.getHeight(), b.getHeight()), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = both.createGraphics();
        g.drawImage(a, 0, 0, null);
        g.drawImage(b, a.getWidth(), 0, null);
        g.dispose();
        write(both, file);
    }

    /** The confusion matrix as a heat map with class names (rows true, columns predicted). */
    public static void confusion(ConfusionMatrix cm, List<String> names, Path file) throws IOException {
        int n = cm.classes();
        HeatMapChart chart = new HeatMapChartBuilder()
                .width(760)
                .height(640)
                .title("Confusion matrix (rows: true)")
                .build();
        chart.getStyler().setShowValue(true);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setPlotContentSize(1);
        List<Number[]> heat = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            for (int p = 0; p < n; p++) {
                // y axis runs upwards: put the first class on top
                heat.add(new Number[] {p, n - 1 - t, cm.count(t, p)});
            }
        }
        List<String> yNames = new ArrayList<>(names);
        Collections.reverse(yNames);
        chart.addSeries("counts", names, yNames, heat);
        write(BitmapEncoder.getBufferedImage(chart), file);
    }

    /**
     * Grey images {@code [count, h, w]} in [0, 1] in a grid, each captioned (e.g. {@code "pred 3 / true 5"}).
     */
    public static void labelledGrid(
            float[] pixels, int[] indices, int h, int w, List<String> captions, int perRow, Path file)
            throws IOException {
        int scale = 3;
        int cellW = Math.max(w * scale, 96);
        int cellH = h * scale + 30;
        int rows = Math.max(1, (indices.length + perRow - 1) / perRow);
        BufferedImage img = new BufferedImage(perRow * cellW, rows * cellH, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int k = 0; k < indices.length; k++) {
            int ox = (k % perRow) * cellW + (cellW - w * scale) / 2;
            int oy = (k / perRow) * cellH;
            int base = indices[k] * h * w;
            for (int y = 0; y < h * scale; y++) {
                for (int x = 0; x < w * scale; x++) {
                    float v = pixels[base + (y / scale) * w + x / scale];
                    int gray = 255 - Math.round(255 * Math.max(0f, Math.min(1f, v)));
                    img.setRGB(ox + x, oy + y, new Color(gray, gray, gray).getRGB());
                }
            }
            g.setColor(Color.BLACK);
            String[] lines = captions.get(k).split(" / ");
            for (int l = 0; l < lines.length; l++) {
                g.drawString(lines[l], (k % perRow) * cellW + 4, oy + h * scale + 12 + 12 * l);
            }
        }
        g.dispose();
        write(img, file);
    }

    /**
     * Encodes the PNG in memory, then writes it {@linkplain AtomicFiles atomically}: on a full disk the old picture
     * stays and the error names the file (ImageIO alone deletes the old file first and says only "I/O error
     * writing PNG file!").
     */
    static void write(BufferedImage img, Path file) throws IOException {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try (ImageOutputStream out = new MemoryCacheImageOutputStream(png)) {
            if (!ImageIO.write(img, "png", out)) {
                throw new IOException(file + ": no PNG writer in this Java runtime");
            }
        }
        AtomicFiles.write(file, out -> png.writeTo(out));
    }
}
