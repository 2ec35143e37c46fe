package dev.gradus.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Streams a CSV file of non-negative integer cells byte by byte, tracking the line and column for errors.
 *
 * <p>The text is UTF-8 (ASCII included): a UTF-8 byte-order mark at the start is skipped, a UTF-16 or UTF-32 one is
 * refused by name, and a line ends at LF, CRLF or a bare CR (the three conventions of Unix, Windows and classic Mac
 * OS), as Python's universal newlines and Java's {@code BufferedReader.readLine} read them.
 */
final class IntCsv {
    /** The longest header accepted: Kaggle's is about 7 KB, so a file without line ends fails here, not in the heap. */
    static final int MAX_HEADER_BYTES = 1 << 20;

    /** The most bytes of a bad cell quoted in a message. */
    private static final int QUOTE_BYTES = 24;

    private final String name;
    private final InputStream in;
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int len;
    private boolean started;

    /** The line of the last header or row read, from 1. */
    long line;

    IntCsv(String name, InputStream in) {
        this.name = name;
        this.in = in;
    }

    /** The next byte as 0..255, or -1 at the end of the stream (a byte is unsigned: 0x80..0xFF are not the end). */
    private int next() throws IOException {
        if (pos == len && !fill()) {
            return -1;
        }
        return buf[pos++] & 0xFF;
    }

    private int peek() throws IOException {
        if (pos == len && !fill()) {
            return -1;
        }
        return buf[pos] & 0xFF;
    }

    private boolean fill() throws IOException {
        int n = in.read(buf, 0, buf.length);
        pos = 0;
        len = Math.max(n, 0);
        return n > 0;
    }

    /** Consumes the LF of a CRLF after {@code b}; true when {@code b} ends a line. */
    private boolean lineEnd(int b) throws IOException {
        if (b == '\r') {
            if (peek() == '\n') {
                pos++;
            }
            return true;
        }
        return b == '\n';
    }

    /** Skips a UTF-8 byte-order mark and refuses the UTF-16 and UTF-32 ones, once, before the first line. */
    private void start() throws IOException {
        started = true;
        // Gather the first four bytes so that every mark can be seen whole even if read() returns them piecemeal.
        while (len < 4) {
            int n = in.read(buf, len, buf.length - len);
            if (n < 0) {
                break;
            }
            len += n;
        }
        int b0 = len > 0 ? buf[0] & 0xFF : -1;
        int b1 = len > 1 ? buf[1] & 0xFF : -1;
        int b2 = len > 2 ? buf[2] & 0xFF : -1;
        int b3 = len > 3 ? buf[3] & 0xFF : -1;
        if (b0 == 0xEF && b1 == 0xBB && b2 == 0xBF) {
            pos = 3;
        } else if ((b0 == 0xFF && b1 == 0xFE)
                || (b0 == 0xFE && b1 == 0xFF)
                || (b0 == 0 && b1 == 0 && b2 == 0xFE && b3 == 0xFF)) {
            throw new CsvFormatException(
                    name, 1, 0, "the file is UTF-16 or UTF-32 text; save it as UTF-8 (or ASCII) CSV");
        }
    }

    /** The next line decoded as UTF-8 (invalid bytes become U+FFFD), or null at the end of the file. */
    String readLine() throws IOException {
        if (!started) {
            start();
        }
        int b = next();
        if (b < 0) {
            return null;
        }
        line++;
        byte[] bytes = new byte[256];
        int n = 0;
        while (b >= 0 && !lineEnd(b)) {
            if (n == MAX_HEADER_BYTES) {
                throw new CsvFormatException(
                        name, line, 0, "line is longer than " + MAX_HEADER_BYTES + " bytes: not a CSV header");
            }
            if (n == bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.min(2 * n, MAX_HEADER_BYTES));
            }
            bytes[n++] = (byte) b;
            b = next();
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    /**
     * Reads the next non-blank row into {@code row}, which must then hold exactly {@code cols} cells.
     *
     * @return false at the end of the file
     * @throws CsvFormatException naming the line and column of a cell that is not a non-negative integer, of a
     *     missing or extra cell
     */
    boolean readRow(int[] row, int cols) throws IOException {
        if (!started) {
            start();
        }
        int b = next();
        while (lineEnd(b)) {
            line++;
            b = next();
        }
        if (b < 0) {
            return false;
        }
        line++;
        int col = 0;
        byte[] cell = new byte[QUOTE_BYTES];
        while (true) {
            int v = 0;
            int n = 0;
            boolean digitsOnly = true;
            boolean tooLarge = false;
            while (b >= 0 && b != ',' && b != '\n' && b != '\r') {
                if (n < QUOTE_BYTES) {
                    cell[n] = (byte) b;
                }
                n++;
                if (b >= '0' && b <= '9') {
                    if (v > (Integer.MAX_VALUE - 9) / 10) {
                        tooLarge = true;
                    } else {
                        v = v * 10 + (b - '0');
                    }
                } else {
                    digitsOnly = false;
                }
                b = next();
            }
            if (col >= cols) {
                throw new CsvFormatException(
                        name, line, col + 1, "row has more than the " + cols + " columns of the header");
            }
            if (n == 0) {
                throw new CsvFormatException(name, line, col + 1, "empty cell");
            }
            if (!digitsOnly) {
                throw new CsvFormatException(
                        name, line, col + 1, "cell " + quote(cell, n) + " is not a non-negative integer");
            }
            if (tooLarge) {
                throw new CsvFormatException(name, line, col + 1, "number " + quote(cell, n) + " is too large");
            }
            row[col++] = v;
            if (b == ',') {
                b = next();
                continue;
            }
            lineEnd(b);
            if (col != cols) {
                throw new CsvFormatException(name, line, 0, "row has " + col + " columns, the header has " + cols);
            }
            return true;
        }
    }

    /** The first bytes of a cell as quoted, printable text: control characters escaped so the message stays one line. */
    private static String quote(byte[] cell, int n) {
        String s = new String(cell, 0, Math.min(n, QUOTE_BYTES), StandardCharsets.UTF_8);
        return "'" + printable(s) + (n > QUOTE_BYTES ? "...' (" + n + " bytes)" : "'");
    }

    /** {@code s} with ISO control characters written as {@code \\uXXXX}. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
