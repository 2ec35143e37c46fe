package dev.gradus.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * File errors that name their file. The JDK's stream errors ({@code No space left on device}, {@code Is a
 * directory}) do not say which file; the library rethrows them as a {@link FileSystemException} on the file it was
 * reading or writing, and {@link #describe} puts any of them in one line, as {@code cp} or {@code cat} would.
 */
public final class FileErrors {
    private FileErrors() {}

    /**
     * {@code e} as an error on {@code file}: unchanged when it already names a file, else a
     * {@link FileSystemException} with {@code e}'s reason and {@code e} as its cause.
     */
    public static IOException onFile(Path file, IOException e) {
        if (e instanceof FileSystemException fse && fse.getFile() != null) {
            return e;
        }
        if (e instanceof ModelFormatException) {
            return e; // names its file already
        }
        String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        FileSystemException wrapped = new FileSystemException(file.toString(), null, reason);
        wrapped.initCause(e);
        return wrapped;
    }

    /**
     * One line for a user: {@code /x/model.safetensors: no such file}, {@code out/loss.png: No space left on
     * device}. The JDK's own messages of {@link NoSuchFileException} and its kin are only the path.
     */
    public static String describe(IOException e) {
        if (e instanceof FileSystemException fse && fse.getFile() != null) {
            String reason = fse.getReason();
            if (reason == null) {
                reason = reasonOf(fse);
            }
            String other = fse.getOtherFile() == null ? "" : " -> " + fse.getOtherFile();
            return fse.getFile() + other + ": " + firstLine(reason);
        }
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : firstLine(m);
    }

    private static String reasonOf(FileSystemException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "directory not empty";
        }
        return e.getClass().getSimpleName();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
