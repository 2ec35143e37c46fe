package dev.gradus.datasets;

import java.io.IOException;

/** A CSV file that breaks its format: the message names the file, the line and the column (both from 1). */
public class CsvFormatException extends IOException {
    private final long line;
    private final int column;

    public CsvFormatException(String file, long line, int column, String problem) {
        super(file + ":" + line + (column > 0 ? ":" + column : "") + ": " + problem);
        this.line = line;
        this.column = column;
    }

    /** Line of the problem, from 1. */
    public long line() {
        return line;
    }

    /** Column (cell index) of the problem, from 1; 0 when the whole line is at fault. */
    public int column() {
        return column;
    }
}
