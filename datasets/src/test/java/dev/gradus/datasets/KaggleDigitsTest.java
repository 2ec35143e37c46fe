package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KaggleDigitsTest {
    @TempDir
    Path tmp;

    static Dataset small(int n) {
        float[] f = new float[n * 784];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = (i * 7) % 10;
            for (int p = 0; p < 784; p++) {
                f[i * 784 + p] = ((i * 31 + p * 17) % 256) * (1f / 255f);
            }
        }
        return new Dataset("small", f, y, new int[] {1, 28, 28}, 10);
    }

    @Test
    void trainTestAndSubmissionRoundTrip() throws IOException {
        Dataset d = small(25);
        Path train = tmp.resolve("train.csv");
        KaggleDigits.writeTrain(train, d);
        Dataset back = KaggleDigits.readTrain(train);
        assertArrayEquals(d.labels(), back.labels());
        assertArrayEquals(d.features(), back.features(), 0f);
        assertTrue(back.labeled());
        Path test = tmp.resolve("test.csv");
        KaggleDigits.writeTest(test, d);
        Dataset t = KaggleDigits.readTest(test);
        assertFalse(t.labeled());
        assertEquals(25, t.size());
        assertArrayEquals(d.features(), t.features(), 0f);
        int[] pred = {3, 1, 4, 1, 5, 9, 2, 6};
        Path sub = tmp.resolve("submission.csv");
        KaggleDigits.writeSubmission(sub, pred);
        List<String> lines = Files.readAllLines(sub);
        assertEquals("ImageId,Label", lines.get(0));
        assertEquals("1,3", lines.get(1));
        assertEquals("8,6", lines.get(8));
        assertArrayEquals(pred, KaggleDigits.readSubmission(sub));
    }

    private Path csv(String name, String header, List<String> rows) throws IOException {
        Path p = tmp.resolve(name);
        StringBuilder sb = new StringBuilder(header == null ? "" : header + "\n");
        rows.forEach(r -> sb.append(r).append('\n'));
        Files.writeString(p, sb.toString(), StandardCharsets.US_ASCII);
        return p;
    }

    private static String header(boolean labeled) {
        StringBuilder sb = new StringBuilder(labeled ? "label" : "");
        for (int c = 0; c < 784; c++) {
            sb.append(labeled || c > 0 ? "," : "").append("pixel").append(c);
        }
        return sb.toString();
    }

    private static String row(int label, int fillPixel) {
        StringBuilder sb = new StringBuilder(label >= 0 ? Integer.toString(label) : "");
        for (int c = 0; c < 784; c++) {
            sb.append(label >= 0 || c > 0 ? "," : "").append(fillPixel);
        }
        return sb.toString();
    }

    private void expectError(Path file, boolean train, String... fragments) {
        CsvFormatException e = assertThrows(CsvFormatException.class, () -> {
            if (train) {
                KaggleDigits.readTrain(file);
            } else {
                KaggleDigits.readTest(file);
            }
        });
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + f + "' missing in: " + e.getMessage());
        }
    }

    @Test
    void badInputNamesFileLineAndColumn() throws IOException {
        String h = header(true);
        expectError(
                csv("missing-header.csv", null, List.of(row(1, 0), row(2, 0))),
                true,
                "missing-header.csv:1",
                "missing header");
        expectError(csv("empty.csv", null, List.of()), true, "empty file");
        expectError(
                csv("test-as-train.csv", header(false), List.of(row(-1, 0))),
                true,
                "header has 784 columns",
                "is this test.csv?");
        expectError(csv("renamed.csv", h.replace("pixel5,", "pixelFive,"), List.of()), true, ":1:7", "'pixelFive'");
        List<String> rows = new ArrayList<>(List.of(row(1, 0), row(2, 0), row(3, 0)));
        rows.set(2, rows.get(2).replaceFirst(",0,", ",x7,"));
        expectError(csv("nonnumeric.csv", h, rows), true, "nonnumeric.csv:4:2", "x7");
        expectError(
                csv("pixel.csv", h, List.of(row(1, 0), row(2, 256))), true, "pixel.csv:3:2", "256", "outside 0..255");
        expectError(csv("label.csv", h, List.of(row(1, 0), row(12, 0))), true, "label.csv:3:1", "label 12");
        expectError(
                csv("short.csv", h, List.of(row(1, 0), row(2, 0).substring(0, 101))),
                true,
                "short.csv:3",
                "the header has 785");
        expectError(csv("long.csv", h, List.of(row(1, 0) + ",5")), true, "long.csv:2:786", "more than");
        expectError(csv("negative.csv", h, List.of(row(1, 0).replaceFirst(",0", ",-3"))), true, "negative.csv:2:2");
        expectError(
                csv("emptycell.csv", h, List.of(row(1, 0).replaceFirst(",0,", ",,"))),
                true,
                "emptycell.csv:2:2",
                "empty cell");
    }

    @Test
    void blankLinesAndCrlfAreTolerated() throws IOException {
        Path p = tmp.resolve("crlf.csv");
        Files.writeString(p, header(true) + "\r\n" + row(4, 7) + "\r\n\r\n" + row(5, 9) + "\r\n");
        Dataset d = KaggleDigits.readTrain(p);
        assertArrayEquals(new int[] {4, 5}, d.labels());
        assertEquals(9 / 255f, d.features()[784], 1e-7);
    }

    @Test
    void invalidPredictionsWriteNothing() throws IOException {
        Path sub = tmp.resolve("submission.csv");
        KaggleDigits.writeSubmission(sub, new int[] {1, 2});
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> KaggleDigits.writeSubmission(sub, new int[] {1, 10}));
        assertTrue(e.getMessage().contains("ImageId 2"), e.getMessage());
        assertArrayEquals(new int[] {1, 2}, KaggleDigits.readSubmission(sub), "the earlier file is intact");
    }
}
