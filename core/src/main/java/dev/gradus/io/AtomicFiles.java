package dev.gradus.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a file through a temporary file in the same folder and a rename, so readers see the old file or the new
 * one, never half of one; a failure leaves the old file untouched and no temporary file behind.
 *
 * <pre>{@code AtomicFiles.write(path, out -> out.write(bytes));}</pre>
 *
 * <p>As the careful writers do (git's lock files, SQLite's journal, {@code rename(2)} after {@code fsync(2)}): the
 * temporary file is flushed to the disk before the atomic rename and the folder after it, so a power cut leaves the
 * old file or the whole new one. Saving over a file keeps its permissions; saving to a symbolic link writes the
 * file the link points to and keeps the link. The temporary file is named {@code .NAME.PID-RANDOM.gradus-tmp} and
 * locked while it is written; one left by a process that was killed during a save is deleted by the next save of
 * the same file (only files of that exact pattern whose process is gone and whose lock is free are touched).
 * Errors name the file being saved: {@code out/curves.png: No space left on device}.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    private static final String SUFFIX = ".gradus-tmp";
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Symbolic links followed before giving up, as Linux's ELOOP limit. */
    private static final int MAX_LINKS = 40;
    /** A temporary file's name stays within the 255 bytes most file systems allow. */
    private static final int MAX_STEM = 180;

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    /** Produces the file's bytes. */
    @FunctionalInterface
    public interface Body {
        void write(OutputStream out) throws IOException;
    }

    /**
     * Writes {@code file} atomically with {@code body}. A new file is readable by all (rw-r--r--); an existing one
     * keeps its permissions; a symbolic link keeps pointing to the (rewritten) file.
     *
     * @throws IOException naming {@code file} when the file cannot be written (a full disk, a read-only folder);
     *     the old file is then unchanged
     */
    public static void write(Path file, Body body) throws IOException {
        Path target = resolveLinks(file);
        Path dir = target.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw named(file, e);
        }
        String stem = stem(target.getFileName().toString());
        removeStale(dir, stem);
        Path tmp = null;
        try {
            tmp = create(dir, stem);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
                    FileLock lock = tryLock(ch)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                body.write(new NonClosing(out));
                out.flush();
                ch.force(true); // the data on the disk before the rename makes it the file
                setPermissions(tmp, target);
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
                tmp = null;
            }
            syncDirectory(dir);
        } catch (IOException e) {
            throw named(file, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // the save already failed with its own reason; the next save removes the file
                }
            }
        }
    }

    /** The file {@code file} names, following symbolic links (the last one may point to a file not there yet). */
    private static Path resolveLinks(Path file) throws IOException {
        Path p = file;
        for (int i = 0; i < MAX_LINKS; i++) {
            if (!Files.isSymbolicLink(p)) {
                return p;
            }
            Path to = Files.readSymbolicLink(p);
            Path parent = p.toAbsolutePath().getParent();
            p = parent == null ? to : parent.resolve(to);
        }
        throw new FileSystemException(file.toString(), null, "too many levels of symbolic links");
    }

    private static String stem(String name) {
        return "." + (name.length() > MAX_STEM ? name.substring(0, MAX_STEM) : name) + ".";
    }

    private static Path create(Path dir, String stem) throws IOException {
        long pid = ProcessHandle.current().pid();
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve(stem + pid + "-" + Long.toUnsignedString(RANDOM.nextLong(), 36) + SUFFIX);
            try {
                try {
                    // owner-only while it is written: the data may be a file the user keeps private
                    return Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
                } catch (UnsupportedOperationException e) {
                    return Files.createFile(tmp);
                }
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
    }

    private static FileLock tryLock(FileChannel ch) {
        try {
            return ch.tryLock();
        } catch (IOException | OverlappingFileLockException | UnsupportedOperationException e) {
            return null; // a file system without locks: the process id alone tells a stale file
        }
    }

    /**
     * Deletes temporary files of earlier saves of the same file whose process has ended (killed during a save):
     * names of exactly this pattern, whose process id is not running here, and whose lock can be taken.
     */
    private static void removeStale(Path dir, String stem) {
        Pattern pattern = Pattern.compile(Pattern.quote(stem) + "(\\d{1,19})-[0-9a-z]{1,13}" + Pattern.quote(SUFFIX));
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, f -> {
            Path n = f.getFileName();
            return n != null && n.toString().startsWith(stem) && n.toString().endsWith(SUFFIX);
        })) {
            for (Path f : files) {
                Matcher m = pattern.matcher(f.getFileName().toString());
                if (!m.matches() || !Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                long pid;
                try {
                    pid = Long.parseLong(m.group(1));
                } catch (NumberFormatException e) {
                    continue;
                }
                Optional<ProcessHandle> owner = ProcessHandle.of(pid);
                if (owner.isPresent() && owner.get().isAlive()) {
                    continue; // a save in progress (or a reused process id: left for a later save)
                }
                deleteIfUnlocked(f);
            }
        } catch (IOException | RuntimeException e) {
            // cleaning is a courtesy; the save itself goes on
        }
    }

    private static void deleteIfUnlocked(Path f) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            FileLock lock;
            try {
                lock = ch.tryLock();
                if (lock == null) {
                    return; // another machine's save holds it (a shared folder)
                }
            } catch (OverlappingFileLockException e) {
                return; // this process is writing it
            } catch (IOException | UnsupportedOperationException e) {
                lock = null; // no locks on this file system: the ended process is proof enough
            }
            try {
                Files.deleteIfExists(f);
            } finally {
                if (lock != null) {
                    lock.release();
                }
            }
        } catch (IOException e) {
            // removed meanwhile, or not ours to remove
        }
    }

    private static void setPermissions(Path tmp, Path target) throws IOException {
        try {
            Set<PosixFilePermission> perms;
            try {
                perms = Files.getPosixFilePermissions(target);
            } catch (NoSuchFileException e) {
                perms = PosixFilePermissions.fromString("rw-r--r--");
            }
            Files.setPosixFilePermissions(tmp, perms);
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: keep its defaults
        }
    }

    /** Makes the rename itself durable where the platform allows opening a folder (Linux, macOS). */
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            // Windows cannot open a folder; its rename is durable by the file system's journal
        }
    }

    /** One line naming the file and the innermost reason (ImageIO says only "I/O error writing PNG file!"). */
    private static IOException named(Path file, IOException e) {
        String reason = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException || reason == null) {
                String r = reason(t, file);
                if (r != null) {
                    reason = r;
                }
            }
        }
        if (reason == null) {
            reason = e.getClass().getSimpleName();
        }
        FileSystemException out = new FileSystemException(file.toString(), null, reason.replace('\n', ' '));
        out.initCause(e);
        return out;
    }

    private static String reason(Throwable t, Path file) {
        if (!(t instanceof FileSystemException f)) {
            return t.getMessage();
        }
        String r = f.getReason();
        if (r == null) {
            r = switch (f.getClass().getSimpleName()) {
                case "NoSuchFileException" -> "no such file or folder";
                case "AccessDeniedException" -> "permission denied";
                case "FileAlreadyExistsException" -> "a file is in the way";
                case "NotDirectoryException" -> "not a folder";
                default -> f.getClass().getSimpleName();
            };
        }
        String other = f.getFile();
        // Name the path when it is not the saved file or its temporary file (a parent folder, say).
        if (other != null && !other.endsWith(SUFFIX) && !other.equals(file.toString())) {
            r = r + " (" + other + ")";
        }
        return r;
    }

    /** Keeps the body from closing the channel before it is flushed to the disk and renamed. */
    private static final class NonClosing extends OutputStream {
        private final OutputStream out;

        NonClosing(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
