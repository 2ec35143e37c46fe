package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
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

    /** {@code parts} concatenated: strings as ASCII, byte arrays as they are. */
    private Path bytes(String name, Object... parts) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object o : parts) {
            out.write(o instanceof byte[] b ? b : ((String) o).getBytes(StandardCharsets.US_ASCII));
        }
        Path p = tmp.resolve(name);
        Files.write(p, out.toByteArray());
        return p;
    }

    private static byte[] b(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    @Test
    void aByteAbove0x7fMidFileIsABadCellNotTheEndOfTheFile() throws IOException {
        StringBuilder hundred = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            hundred.append(row(i % 10, 1)).append('\n');
        }
        // Row 101 (line 102) begins with 0xE9, Latin-1 'é': it used to read as the end of the file (100 rows).
        Path latin1 = bytes("latin1.csv", header(true) + "\n", hundred.toString(), b(0xE9), row(5, 0) + "\n");
        expectError(latin1, true, "latin1.csv:102:1", "is not a non-negative integer");
        // The same as UTF-8 (C3 A9) is quoted as the character it is.
        Path utf8 = bytes("utf8.csv", header(true) + "\n", hundred.toString(), b(0xC3, 0xA9), row(5, 0) + "\n");
        expectError(utf8, true, "utf8.csv:102:1", "'\u00e95'");
        // A byte >= 0x80 in a pixel cell of the test file, and in the last row with no line end.
        Path test = bytes("test-high.csv", header(false) + "\n", row(-1, 3) + "\n", "7,", b(0xFF), row(-1, 0));
        expectError(test, false, "test-high.csv:3:2", "not a non-negative integer");
    }

    @Test
    void aUtf8ByteOrderMarkIsSkipped() throws IOException {
        Path p = bytes("bom.csv", b(0xEF, 0xBB, 0xBF), header(true) + "\n" + row(4, 7) + "\n" + row(5, 9) + "\n");
        Dataset d = KaggleDigits.readTrain(p);
        assertArrayEquals(new int[] {4, 5}, d.labels());
        assertEquals(9 / 255f, d.features()[784], 1e-7);
        Path t = bytes("bom-test.csv", b(0xEF, 0xBB, 0xBF), header(false) + "\r\n" + row(-1, 2) + "\r\n");
        assertEquals(2 / 255f, KaggleDigits.readTest(t).features()[0], 1e-7);
        Path sub = bytes("bom-submission.csv", b(0xEF, 0xBB, 0xBF), "ImageId,Label\r\n1,7\r\n2,3\r\n");
        assertArrayEquals(new int[] {7, 3}, KaggleDigits.readSubmission(sub));
    }

    @Test
    void bareCrLineEndsKeepEveryCharacter() throws IOException {
        Path p = bytes("cr.csv", header(true) + "\r" + row(4, 7) + "\r" + row(5, 9) + "\r\r" + row(6, 11) + "\r");
        Dataset d = KaggleDigits.readTrain(p);
        assertArrayEquals(new int[] {4, 5, 6}, d.labels());
        assertEquals(7 / 255f, d.features()[0], 1e-7);
        assertEquals(9 / 255f, d.features()[784], 1e-7);
        assertEquals(11 / 255f, d.features()[2 * 784], 1e-7);
        Path t = bytes("cr-test.csv", header(false) + "\r" + row(-1, 12) + "\r" + row(-1, 34));
        Dataset test = KaggleDigits.readTest(t);
        assertEquals(2, test.size());
        assertEquals(34 / 255f, test.features()[784], 1e-7);
        // Line numbers count bare CRs (the blank line included) and CRLFs as one line end each.
        Path bad = bytes(
                "cr-bad.csv",
                header(true) + "\r" + row(4, 7) + "\r\r" + row(5, 9).replace(",9,", ",x,"));
        expectError(bad, true, "cr-bad.csv:4:", "'x'");
        Path mixed = bytes(
                "mixed.csv",
                header(true) + "\r\n" + row(1, 1) + "\r\r\n" + row(2, 2).replace(",2,", ",y,"));
        expectError(mixed, true, "mixed.csv:4:", "'y'");
    }

    @Test
    void aFileWithoutDataRowsIsRefused() throws IOException {
        expectError(bytes("header-only.csv", header(true) + "\n"), true, "header-only.csv:2", "no data rows");
        expectError(bytes("header-blank.csv", header(true) + "\r\n\r\n"), true, "header-blank.csv", "no data rows");
        expectError(bytes("header-no-eol.csv", header(true)), true, "header-no-eol.csv", "no data rows");
        expectError(bytes("empty-test.csv", header(false) + "\n"), false, "empty-test.csv:2", "no data rows");
    }

    @Test
    void anEmptyDataSetWritesAHeaderOnlyFileThatReadingRefuses() throws IOException {
        Dataset empty = small(3).subset(0, 0);
        assertEquals(784, empty.itemSize());
        Path train = tmp.resolve("empty-train.csv");
        KaggleDigits.writeTrain(train, empty);
        assertEquals(List.of(header(true)), Files.readAllLines(train));
        expectError(train, true, "empty-train.csv:2", "no data rows");
        Path test = tmp.resolve("empty-test.csv");
        KaggleDigits.writeTest(test, empty);
        expectError(test, false, "empty-test.csv:2", "no data rows");
    }

    @Test
    void hostileFilesGetOneLineNamingTheProblem() throws IOException {
        String h = header(true);
        // UTF-16 (as Windows' "Unicode" export writes it) is named, not misread as a header of NULs.
        byte[] utf16 = (h + "\n" + row(1, 0) + "\n").getBytes(StandardCharsets.UTF_16LE);
        expectError(bytes("utf16.csv", b(0xFF, 0xFE), utf16), true, "utf16.csv:1", "UTF-16");
        // A binary file (an IDX file passed by mistake).
        expectError(bytes("binary.csv", b(0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, '\n')), true, "binary.csv:1", "binary");
        // A header line of 2 MB without a line end fails on its length, not in the heap.
        expectError(bytes("endless.csv", "label,".repeat(350_000)), true, "endless.csv:1", "longer than");
        // A number past int, a control character in a cell (escaped so the message stays one line), a label with a
        // sign, a digit label out of range, a float pixel.
        expectError(
                bytes("huge.csv", h + "\n", row(1, 0).replaceFirst(",0,", ",99999999999,")),
                true,
                "huge.csv:2:2",
                "too large");
        Path control = bytes("control.csv", h + "\n", row(1, 0).replaceFirst(",0,", ",1\u00002,"));
        CsvFormatException e = assertThrows(CsvFormatException.class, () -> KaggleDigits.readTrain(control));
        assertTrue(e.getMessage().contains("control.csv:2:2") && e.getMessage().contains("\\u0000"), e.getMessage());
        assertFalse(e.getMessage().contains("\u0000"), e.getMessage());
        expectError(bytes("plus.csv", h + "\n", "+" + row(1, 0)), true, "plus.csv:2:1", "'+1'");
        expectError(bytes("label10.csv", h + "\n", row(10, 0)), true, "label10.csv:2:1", "label 10");
        expectError(
                bytes("float.csv", h + "\n", row(1, 0).replaceFirst(",0,", ",0.5,")), true, "float.csv:2:2", "'0.5'");
        expectError(bytes("space.csv", h + "\n", row(1, 0).replaceFirst(",0,", ", 3,")), true, "space.csv:2:2", "' 3'");
        // A long bad cell is quoted by its start and length.
        Path longCell = bytes("long-cell.csv", h + "\n", row(1, 0).replaceFirst(",0,", "," + "z".repeat(500) + ","));
        expectError(longCell, true, "long-cell.csv:2:2", "(500 bytes)");
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

    /**
     * A submission file was read whole into the heap before its header was looked at ({@code /dev/zero} ended in an
     * OutOfMemoryError: SpecialFilesTest). Its header is now checked as soon as it is read, and no line may pass 1 kB.
     */
    @Test
    void aSubmissionLinePast1kBIsRefused() throws IOException {
        Path longLine = bytes("long.csv", "ImageId,Label\n1,3\n", "7".repeat(5000), "\n");
        CsvFormatException e = assertThrows(CsvFormatException.class, () -> KaggleDigits.readSubmission(longLine));
        assertTrue(
                e.getMessage().startsWith(longLine + ":3") && e.getMessage().contains("longer than 1024"),
                e.getMessage());
        // what still reads: CR-only line ends, a byte-order mark, blank lines
        Path ok = bytes("ok.csv", b(0xEF, 0xBB, 0xBF), "ImageId,Label\r1,3\r\r2,4\r\n");
        assertArrayEquals(new int[] {3, 4}, KaggleDigits.readSubmission(ok));
    }
}
