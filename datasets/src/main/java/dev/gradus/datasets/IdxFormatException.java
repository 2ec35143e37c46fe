package dev.gradus.datasets;

import java.io.IOException;

/**
 * An IDX file that is not what its header promises: wrong magic, bad dimensions, truncated or corrupt data.
 *
 * <p>The message names the file and the byte offset (in the uncompressed stream) where the problem is.
 */
public class IdxFormatException extends IOException {
    private final long offset;

    public IdxFormatException(String file, long offset, String problem) {
        super(file + ": " + problem + " (at byte " + offset + ")");
        this.offset = offset;
    }

    public IdxFormatException(String file, long offset, String problem, Throwable cause) {
        super(file + ": " + problem + " (at byte " + offset + ")", cause);
        this.offset = offset;
    }

    /** Byte offset of the problem in the uncompressed IDX stream. */
    public long offset() {
        return offset;
    }
}
