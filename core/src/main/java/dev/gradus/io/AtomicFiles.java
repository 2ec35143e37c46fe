package dev.gradus.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes a file through a temporary file in the same folder and a rename, so readers see the old file or the new
 * one, never half of one; a failure leaves the old file untouched and no temporary file behind.
 *
 * <pre>{@code AtomicFiles.write(path, out -> out.write(bytes));}</pre>
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Produces the file's bytes. */
    @FunctionalInterface
    public interface Body {
        void write(OutputStream out) throws IOException;
    }

    /**
     * Writes {@code file} atomically with {@code body}; the new file is readable by all (rw-r--r--). Errors name the
     * file ({@link FileErrors#onFile}): a full disk is {@code model.safetensors: No space left on device}.
     */
    public static void write(Path file, Body body) throws IOException {
        try {
            writeAtomically(file, body);
        } catch (IOException e) {
            throw FileErrors.onFile(file, e);
        }
    }

    private static void writeAtomically(Path file, Body body) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                body.write(out);
            }
            try {
                // createTempFile makes owner-only files; a data file or model should not be.
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: keep its defaults
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
