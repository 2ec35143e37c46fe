package dev.gradus.testing;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;

/**
 * A seeded mutation fuzzer for file readers: each input made from a valid file (bit flips, interesting integers,
 * truncation, deleted, duplicated and inserted ranges) or from random bytes must either load or throw the
 * reader's documented exception; anything else, or a reader that runs past the time limit, fails the test and
 * leaves the input under {@code target/fuzz-failures} to reproduce it.
 *
 * <pre>{@code
 * Fuzz.reader("idx", Idx::read).documented(e -> e instanceof IdxFormatException)
 *     .run(dir, List.of(validBytes), 2_000, 42);
 * }</pre>
 */
public final class Fuzz {
    /** A reader of one file. */
    @FunctionalInterface
    public interface Reader {
        void read(Path file) throws Exception;
    }

    private static final int[] INTERESTING = {
        0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 1 << 30, 1 << 20, 784, 60_000, 65_536
    };
    private static final String[] TEXT = {
        ",",
        ",,",
        "\n",
        "\r\n",
        "\r",
        "-1",
        "256",
        "99999999999",
        "x",
        " ",
        "1.5",
        "\"",
        "label",
        "pixel0",
        "\u00ef\u00bb\u00bf",
        "\t"
    };

    private final String name;
    private final Reader reader;
    private Predicate<Throwable> documented = e -> false;
    private boolean text;
    private Duration limit = Duration.ofSeconds(120);

    private Fuzz(String name, Reader reader) {
        this.name = name;
        this.reader = reader;
    }

    /** A fuzzer for {@code reader}; {@code name} names saved failures. */
    public static Fuzz reader(String name, Reader reader) {
        return new Fuzz(name, reader);
    }

    /** Which exceptions the reader documents for bad input. */
    public Fuzz documented(Predicate<Throwable> documented) {
        this.documented = documented;
        return this;
    }

    /** Adds mutations that matter to text formats (separators, line ends, out-of-range numbers). */
    public Fuzz text() {
        this.text = true;
        return this;
    }

    /** Time allowed for the whole run (default two minutes): a reader that hangs fails the test. */
    public Fuzz limit(Duration limit) {
        this.limit = limit;
        return this;
    }

    /** What one run saw. */
    public record Result(int inputs, int loaded, int rejected) {}

    /**
     * Feeds {@code iterations} mutated inputs (and, one in ten, random bytes) to the reader.
     *
     * @return how many loaded and how many were rejected with the documented exception
     */
    public Result run(Path dir, List<byte[]> valid, int iterations, long seed) {
        return assertTimeoutPreemptively(
                limit,
                () -> loop(dir, valid, iterations, seed),
                () -> name + " fuzzing did not finish within " + limit + ": a reader may hang");
    }

    private Result loop(Path dir, List<byte[]> valid, int iterations, long seed) throws IOException {
        Random rnd = new Random(seed);
        int loaded = 0;
        int rejected = 0;
        Path file = dir.resolve(name + ".fuzz");
        for (int i = 0; i < iterations; i++) {
            List<String> how = new ArrayList<>();
            byte[] input;
            if (rnd.nextInt(10) == 0) {
                input = new byte[rnd.nextInt(2048)];
                rnd.nextBytes(input);
                how.add("random " + input.length + " bytes");
            } else {
                byte[] base = valid.get(rnd.nextInt(valid.size()));
                input = base;
                int n = 1 + rnd.nextInt(3);
                for (int k = 0; k < n; k++) {
                    input = mutate(input, rnd, how);
                }
            }
            Files.write(file, input);
            try {
                reader.read(file);
                loaded++;
            } catch (Throwable e) {
                if (documented.test(e)) {
                    rejected++;
                    if (e.getMessage() == null || e.getMessage().isBlank()) {
                        throw fail(i, seed, how, input, "threw " + e.getClass().getName() + " without a message", e);
                    }
                } else {
                    throw fail(i, seed, how, input, "threw an undocumented " + e, e);
                }
            }
        }
        return new Result(iterations, loaded, rejected);
    }

    private AssertionError fail(int i, long seed, List<String> how, byte[] input, String what, Throwable e)
            throws IOException {
        Path saved = Path.of("target", "fuzz-failures", name + "-seed" + seed + "-input" + i);
        Files.createDirectories(saved.getParent());
        Files.write(saved, input);
        return new AssertionError(
                name + " input " + i + " (seed " + seed + ", " + String.join(", ", how) + ") " + what
                        + "; input saved to " + saved.toAbsolutePath(),
                e);
    }

    private byte[] mutate(byte[] in, Random rnd, List<String> how) {
        int len = in.length;
        int kinds = text ? 9 : 8;
        switch (rnd.nextInt(kinds)) {
            case 0: {
                if (len == 0) {
                    return in;
                }
                byte[] out = in.clone();
                int bit = rnd.nextInt(len * 8);
                out[bit / 8] ^= (byte) (1 << (bit % 8));
                how.add("flip bit " + bit);
                return out;
            }
            case 1: {
                if (len == 0) {
                    return in;
                }
                byte[] out = in.clone();
                int at = rnd.nextInt(len);
                out[at] = (byte) INTERESTING[rnd.nextInt(6)];
                how.add("byte " + at + " = " + out[at]);
                return out;
            }
            case 2: {
                if (len < 4) {
                    return in;
                }
                byte[] out = in.clone();
                // Headers live at the start: aim there half of the time.
                int at = rnd.nextBoolean() ? rnd.nextInt(Math.min(len - 3, 64)) : rnd.nextInt(len - 3);
                int v = INTERESTING[rnd.nextInt(INTERESTING.length)];
                ByteBuffer.wrap(out, at, 4).putInt(rnd.nextBoolean() ? v : Integer.reverseBytes(v));
                how.add("int at " + at + " = " + v);
                return out;
            }
            case 3: {
                int cut = len == 0 ? 0 : rnd.nextInt(len);
                how.add("truncate to " + cut);
                return Arrays.copyOf(in, cut);
            }
            case 4: {
                if (len == 0) {
                    return in;
                }
                int from = rnd.nextInt(len);
                int n = 1 + rnd.nextInt(Math.min(64, len - from));
                byte[] out = new byte[len - n];
                System.arraycopy(in, 0, out, 0, from);
                System.arraycopy(in, from + n, out, from, len - from - n);
                how.add("delete " + n + " at " + from);
                return out;
            }
            case 5: {
                if (len == 0) {
                    return in;
                }
                int from = rnd.nextInt(len);
                int n = 1 + rnd.nextInt(Math.min(256, len - from));
                return insert(in, rnd.nextInt(len + 1), Arrays.copyOfRange(in, from, from + n), how, "duplicate");
            }
            case 6: {
                byte[] junk = new byte[1 + rnd.nextInt(16)];
                rnd.nextBytes(junk);
                return insert(in, rnd.nextInt(len + 1), junk, how, "insert random");
            }
            case 7: {
                byte[] junk = new byte[1 + rnd.nextInt(64)];
                rnd.nextBytes(junk);
                return insert(in, len, junk, how, "append random");
            }
            default: {
                byte[] piece = TEXT[rnd.nextInt(TEXT.length)].getBytes(StandardCharsets.ISO_8859_1);
                int at = rnd.nextInt(len + 1);
                if (rnd.nextBoolean() && at < len) {
                    byte[] out = in.clone();
                    out[at] = piece[0];
                    how.add("char " + at + " = " + (char) (piece[0] & 0xFF));
                    return out;
                }
                return insert(in, at, piece, how, "insert text");
            }
        }
    }

    private static byte[] insert(byte[] in, int at, byte[] piece, List<String> how, String what) {
        byte[] out = new byte[in.length + piece.length];
        System.arraycopy(in, 0, out, 0, at);
        System.arraycopy(piece, 0, out, at, piece.length);
        System.arraycopy(in, at, out, at + piece.length, in.length - at);
        how.add(what + " " + piece.length + " at " + at);
        return out;
    }
}
