package dev.gradus.datasets;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Kaggle's digit-recognizer CSV files: {@code train.csv} ({@code label,pixel0..pixel783}), {@code test.csv}
 * ({@code pixel0..pixel783}) and {@code submission.csv} ({@code ImageId,Label}, ImageId from 1).
 *
 * <p>Reading streams bytes and parses integers by hand (a 42,000-row train.csv parses in a fraction of a second);
 * every error names the file, line and column. The text is UTF-8 or ASCII, with or without a byte-order mark, its
 * lines ending in LF, CRLF or CR; a file without data rows is refused. Pixels are scaled to [0, 1]; items have shape {@code [1, 28, 28]}.
 *
 * <pre>{@code
 * Dataset train = KaggleDigits.readTrain(Path.of("train.csv"));
 * KaggleDigits.writeSubmission(Path.of("submission.csv"), predictions);
 * }</pre>
 */
public final class KaggleDigits {
    private static final int PIXELS = 784;
    private static final int[] ITEM = {1, 28, 28};

    private KaggleDigits() {}

    /** Reads a labelled {@code train.csv}. */
    public static Dataset readTrain(Path file) throws IOException {
        return read(file, true);
    }

    /** Reads an unlabelled {@code test.csv}. */
    public static Dataset readTest(Path file) throws IOException {
        return read(file, false);
    }

    /** The most rows one float array holds at 784 pixels a row. */
    private static final int MAX_ROWS = (Integer.MAX_VALUE - 8) / PIXELS;

    private static Dataset read(Path file, boolean labeled) throws IOException {
        String name = file.toString();
        int cols = labeled ? PIXELS + 1 : PIXELS;
        try (InputStream in = Files.newInputStream(file)) {
            IntCsv p = new IntCsv(name, in);
            checkHeader(p, name, labeled, cols);
            float[] feats = new float[PIXELS * 1024];
            int[] labels = new int[1024];
            int n = 0;
            int[] row = new int[cols];
            while (p.readRow(row, cols)) {
                if (n == labels.length) {
                    if (n == MAX_ROWS) {
                        throw new CsvFormatException(
                                name, p.line, 0, "more than " + MAX_ROWS + " rows, the most one data set holds");
                    }
                    int grown = (int) Math.min(2L * n, MAX_ROWS);
                    labels = Arrays.copyOf(labels, grown);
                    feats = Arrays.copyOf(feats, grown * PIXELS);
                }
                int first = 0;
                if (labeled) {
                    if (row[0] > 9) {
                        throw new CsvFormatException(name, p.line, 1, "label " + row[0] + " is outside 0..9");
                    }
                    labels[n] = row[0];
                    first = 1;
                }
                int base = n * PIXELS;
                for (int c = 0; c < PIXELS; c++) {
                    int v = row[first + c];
                    if (v > 255) {
                        throw new CsvFormatException(
                                name, p.line, first + c + 1, "pixel value " + v + " is outside 0..255");
                    }
                    feats[base + c] = v * (1f / 255f);
                }
                n++;
            }
            if (n == 0) {
                // An empty data set would train on nothing and predict nothing without a word, as a missing file would.
                throw new CsvFormatException(
                        name,
                        p.line + 1,
                        0,
                        "no data rows after the header: a " + (labeled ? "train.csv" : "test.csv")
                                + " needs at least one row");
            }
            float[] f = Arrays.copyOf(feats, n * PIXELS);
            return labeled
                    ? new Dataset("kaggle/" + file.getFileName(), f, Arrays.copyOf(labels, n), ITEM, 10)
                    : Dataset.unlabeled("kaggle/" + file.getFileName(), f, ITEM, 10);
        }
    }

    private static void checkHeader(IntCsv p, String name, boolean labeled, int cols) throws IOException {
        String header = p.readLine();
        if (header == null) {
            throw new CsvFormatException(name, 1, 0, "empty file: missing the header line");
        }
        if (header.indexOf('\0') >= 0) {
            throw new CsvFormatException(name, 1, 0, "the file is binary (it holds NUL bytes), not CSV text");
        }
        String[] cells = header.split(",", -1);
        if (!cells[0].isEmpty() && Character.isDigit(cells[0].charAt(0))) {
            throw new CsvFormatException(
                    name,
                    1,
                    1,
                    "missing header: the first line holds numbers; expected "
                            + (labeled ? "label,pixel0,...,pixel783" : "pixel0,...,pixel783"));
        }
        if (cells.length != cols) {
            throw new CsvFormatException(
                    name,
                    1,
                    0,
                    "header has " + cells.length + " columns, expected " + cols
                            + (labeled ? " (label,pixel0..pixel783)" : " (pixel0..pixel783)")
                            + (cells.length == cols - 1 && labeled ? "; is this test.csv?" : "")
                            + (cells.length == cols + 1 && !labeled ? "; is this train.csv?" : ""));
        }
        for (int c = 0; c < cols; c++) {
            String want = labeled ? (c == 0 ? "label" : "pixel" + (c - 1)) : "pixel" + c;
            if (!cells[c].trim().equals(want)) {
                String got = cells[c].length() > 40 ? cells[c].substring(0, 40) + "..." : cells[c];
                throw new CsvFormatException(
                        name, 1, c + 1, "header column is '" + IntCsv.printable(got) + "', expected '" + want + "'");
            }
        }
    }

    // ------------------------------------------------------------------ writing

    /** Writes a labelled data set as {@code train.csv} (pixels rounded back to 0..255). */
    public static void writeTrain(Path file, Dataset data) throws IOException {
        write(file, data, true);
    }

    /** Writes images as {@code test.csv}. */
    public static void writeTest(Path file, Dataset data) throws IOException {
        write(file, data, false);
    }

    private static void write(Path file, Dataset data, boolean labeled) throws IOException {
        if (data.itemSize() != PIXELS) {
            throw new IllegalArgumentException("KaggleDigits: items must have 784 pixels, got " + data.itemSize());
        }
        dev.gradus.io.AtomicFiles.write(file, out -> {
            StringBuilder sb = new StringBuilder(labeled ? "label," : "");
            for (int c = 0; c < PIXELS; c++) {
                sb.append("pixel").append(c).append(c + 1 < PIXELS ? "," : "\n");
            }
            out.write(sb.toString().getBytes(StandardCharsets.US_ASCII));
            float[] f = data.features();
            byte[] line = new byte[4 * (PIXELS + 1) + 1];
            for (int i = 0; i < data.size(); i++) {
                int k = 0;
                if (labeled) {
                    k = putInt(line, k, data.labels()[i]);
                    line[k++] = ',';
                }
                for (int c = 0; c < PIXELS; c++) {
                    k = putInt(line, k, Math.round(f[i * PIXELS + c] * 255f));
                    line[k++] = (byte) (c + 1 < PIXELS ? ',' : '\n');
                }
                out.write(line, 0, k);
            }
        });
    }

    /**
     * Writes Kaggle's {@code submission.csv}: header {@code ImageId,Label}, ImageId counting from 1.
     *
     * @throws IllegalArgumentException naming the first prediction outside 0..9 (nothing is written then)
     */
    public static void writeSubmission(Path file, int[] predictions) throws IOException {
        for (int i = 0; i < predictions.length; i++) {
            if (predictions[i] < 0 || predictions[i] > 9) {
                throw new IllegalArgumentException("writeSubmission: prediction " + predictions[i] + " for ImageId "
                        + (i + 1) + " is outside 0..9");
            }
        }
        dev.gradus.io.AtomicFiles.write(file, out -> {
            StringBuilder sb = new StringBuilder("ImageId,Label\n");
            for (int i = 0; i < predictions.length; i++) {
                sb.append(i + 1).append(',').append(predictions[i]).append('\n');
            }
            out.write(sb.toString().getBytes(StandardCharsets.US_ASCII));
        });
    }

    /** Reads a {@code submission.csv} back: the labels in ImageId order. */
    public static int[] readSubmission(Path file) throws IOException {
        String name = file.toString();
        // ISO-8859-1 maps every byte, so stray bytes surface below as a bad cell with its line, not a decoder error.
        List<String> lines = submissionLines(file);
        if (!lines.get(0).trim().equals("ImageId,Label")) {
            throw new CsvFormatException(name, 1, 0, "expected the header 'ImageId,Label'");
        }
        int[] out = new int[lines.size() - 1];
        int n = 0;
        for (int i = 1; i < lines.size(); i++) {
            String l = lines.get(i).trim();
            if (l.isEmpty()) {
                continue;
            }
            String[] c = l.split(",");
            if (c.length != 2) {
                throw new CsvFormatException(name, i + 1, 0, "expected 2 columns, found " + c.length);
            }
            try {
                if (Integer.parseInt(c[0].trim()) != n + 1) {
                    throw new CsvFormatException(
                            name, i + 1, 1, "ImageId " + c[0] + " out of order, expected " + (n + 1));
                }
                int label = Integer.parseInt(c[1].trim());
                if (label < 0 || label > 9) {
                    throw new CsvFormatException(name, i + 1, 2, "label " + label + " is outside 0..9");
                }
                out[n++] = label;
            } catch (NumberFormatException e) {
                throw new CsvFormatException(
                        name,
                        i + 1,
                        0,
                        "not an integer: " + IntCsv.printable(l.length() > 40 ? l.substring(0, 40) + "..." : l));
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** A submission line is "28000,9": one this long is not one (an endless line would fill the heap). */
    static final int MAX_SUBMISSION_LINE = 1024;

    /**
     * The lines of a submission file (ends {@code \n}, {@code \r\n} or {@code \r}, as {@code Files.readAllLines}), a
     * UTF-8 byte-order mark dropped; the header is checked as soon as it is read and no line may pass
     * {@link #MAX_SUBMISSION_LINE} bytes, so a binary file or {@code /dev/zero} fails at once instead of in the heap.
     */
    private static List<String> submissionLines(Path file) throws IOException {
        String name = file.toString();
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        try (Reader r = new BufferedReader(
                new InputStreamReader(Files.newInputStream(file), StandardCharsets.ISO_8859_1), 1 << 16)) {
            boolean lastCr = false;
            for (int c = r.read(); ; c = r.read()) {
                if (c == '\n' && lastCr) {
                    lastCr = false;
                    continue;
                }
                lastCr = c == '\r';
                if (c == -1 || c == '\n' || c == '\r') {
                    if (c != -1 || line.length() > 0) {
                        String l = line.toString();
                        if (lines.isEmpty()) {
                            // A UTF-8 byte-order mark, as Excel writes it, read byte by byte.
                            l = l.startsWith("\u00ef\u00bb\u00bf") ? l.substring(3) : l;
                            if (!l.trim().equals("ImageId,Label")) {
                                break; // refused by the caller, before the rest is read
                            }
                        }
                        lines.add(l);
                        line.setLength(0);
                    }
                    if (c == -1) {
                        break;
                    }
                } else if (line.length() == MAX_SUBMISSION_LINE) {
                    throw new CsvFormatException(
                            name,
                            lines.size() + 1,
                            0,
                            "line is longer than " + MAX_SUBMISSION_LINE + " bytes: not a submission file");
                } else {
                    line.append((char) c);
                }
            }
        }
        if (lines.isEmpty()) {
            lines.add("");
        }
        return lines;
    }

    private static int putInt(byte[] b, int k, int v) {
        if (v >= 100) {
            b[k++] = (byte) ('0' + v / 100);
        }
        if (v >= 10) {
            b[k++] = (byte) ('0' + (v / 10) % 10);
        }
        b[k++] = (byte) ('0' + v % 10);
        return k;
    }
}
