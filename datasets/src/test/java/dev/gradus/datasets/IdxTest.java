package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripsEveryTypeRawAndGzip() throws IOException {
        for (Idx.Type type : Idx.Type.values()) {
            for (String suffix : new String[] {"", ".gz"}) {
                int[] dims = {3, 2, 5};
                byte[] data = new byte[30 * type.size()];
                ByteBuffer b = ByteBuffer.wrap(data);
                for (int i = 0; i < 30; i++) {
                    switch (type) {
                        case UBYTE, BYTE -> b.put((byte) (i * 7 - 50));
                        case SHORT -> b.putShort((short) (i * 1000 - 9000));
                        case INT -> b.putInt(i * 100000 - 7);
                        case FLOAT -> b.putFloat(i * 0.5f - 3f);
                        case DOUBLE -> b.putDouble(i * 0.25 - 1);
                    }
                }
                Path f = tmp.resolve("a-" + type + suffix);
                Idx.write(f, type, dims, data);
                Idx.Array a = Idx.read(f);
                assertEquals(type, a.type());
                assertArrayEquals(dims, a.dims());
                assertArrayEquals(data, a.data(), type + suffix);
            }
        }
        Idx.Array a = Idx.read(tmp.resolve("a-FLOAT"));
        assertEquals(-3.0, a.get(0));
        assertEquals(1.5f, a.toFloats(1f)[9]);
    }

    private Path file(String name, byte[] content) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, content);
        return p;
    }

    private static byte[] header(int type, int... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length);
        b.put((byte) 0).put((byte) 0).put((byte) type).put((byte) dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        return b.array();
    }

    @Test
    void wrongMagicIsNamed() throws IOException {
        Path f = file("bad-magic", new byte[] {1, 2, 8, 1, 0, 0, 0, 0});
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(f));
        assertTrue(e.getMessage().contains("bad-magic") && e.getMessage().contains("wrong magic"), e.getMessage());
        assertEquals(0, e.offset());
        Path t = file("bad-type", new byte[] {0, 0, 0x42, 1, 0, 0, 0, 0});
        IdxFormatException e2 = assertThrows(IdxFormatException.class, () -> Idx.read(t));
        assertTrue(e2.getMessage().contains("type code 0x42"), e2.getMessage());
    }

    @Test
    void truncatedDataNamesTheOffset() throws IOException {
        byte[] h = header(0x08, 10);
        byte[] content = Arrays.copyOf(h, h.length + 6);
        Path f = file("short", content);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(f));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("at byte 14"), e.getMessage());
        Path g = file("short-header", new byte[] {0, 0, 8, 2, 0, 0});
        assertThrows(IdxFormatException.class, () -> Idx.read(g));
    }

    @Test
    void trailingBytesAreRejected() throws IOException {
        byte[] h = header(0x08, 2);
        Path f = file("long", Arrays.copyOf(h, h.length + 3));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(f));
        assertTrue(e.getMessage().contains("trailing"), e.getMessage());
    }

    @Test
    void corruptGzipIsAnIdxError() throws IOException {
        Path good = tmp.resolve("x-idx1-ubyte.gz");
        byte[] labels = new byte[5000];
        new Random(1).nextBytes(labels);
        Idx.writeUbyte(good, new int[] {5000}, labels);
        byte[] gz = Files.readAllBytes(good);
        // cut the stream in half
        Path cut = file("cut.gz", Arrays.copyOf(gz, gz.length / 2));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(cut));
        assertTrue(e.getMessage().contains("cut.gz"), e.getMessage());
        // flip bytes inside the deflate data
        byte[] bad = gz.clone();
        for (int i = 20; i < 60; i++) {
            bad[i] ^= 0x5A;
        }
        Path flipped = file("flipped.gz", bad);
        IOException e2 = assertThrows(IOException.class, () -> Idx.read(flipped));
        assertTrue(e2.getMessage().contains("flipped.gz"), e2.getMessage());
    }

    @Test
    void dimensionsWhoseProductOverflowsAreAFormatError() throws IOException {
        // 2^24 four times is 2^96: in 64-bit arithmetic it wrapped to 0 and the file read as an empty array.
        int big = 1 << 24;
        Path wrap = file("wrap-idx4-ubyte", header(0x08, big, big, big, big));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(wrap));
        assertTrue(e.getMessage().contains("wrap-idx4-ubyte") && e.getMessage().contains("more than"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        // Products past 2^31 bytes, in elements or only once multiplied by the element size, and 255 dimensions.
        for (byte[] h : List.of(
                header(0x08, 65536, 65536),
                header(0x0E, 1 << 28),
                header(0x0D, Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE),
                header(0x08, fill(255, 2)))) {
            Path f = file("huge", h);
            IdxFormatException h2 = assertThrows(IdxFormatException.class, () -> Idx.read(f));
            assertTrue(h2.getMessage().contains("more than one array can hold"), h2.getMessage());
        }
        // A zero dimension next to huge ones is an exact, empty array.
        Path zero = file("zero", header(0x08, 0, Integer.MAX_VALUE, Integer.MAX_VALUE));
        assertEquals(0, Idx.read(zero).count());
        assertThrows(
                IllegalArgumentException.class,
                () -> Idx.writeUbyte(tmp.resolve("w"), new int[] {big, big, big, big}, new byte[0]));
    }

    private static int[] fill(int n, int value) {
        int[] out = new int[n];
        Arrays.fill(out, value);
        return out;
    }

    @Test
    void hostileHeadersAndStreamsAreFormatErrors() throws IOException {
        List<byte[]> cases = List.of(
                new byte[0],
                new byte[] {0x1f, (byte) 0x8b},
                new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 0},
                header(0x08, -1),
                header(0x08, 3, Integer.MIN_VALUE),
                new byte[] {0, 0, 8, 0},
                new byte[] {0, 0, 8, (byte) 255, 0, 0},
                "%PDF-1.4\n".getBytes(StandardCharsets.US_ASCII),
                new byte[] {0, 0, 0x07, 1, 0, 0, 0, 1, 5});
        for (int i = 0; i < cases.size(); i++) {
            Path f = file("hostile-" + i, cases.get(i));
            IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(f), "case " + i);
            assertTrue(e.getMessage().contains("hostile-" + i), e.getMessage());
        }
        // A gzip stream that claims 1 GB and ends after a few bytes fails at the truncation, not in the heap.
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bo)) {
            gz.write(header(0x08, 1 << 30));
            gz.write(new byte[100]);
        }
        Path claim = file("claim.gz", bo.toByteArray());
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(claim));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void writeIsAtomicAndRejectsMismatchedData() throws IOException {
        Path f = tmp.resolve("keep-idx1-ubyte");
        Idx.writeUbyte(f, new int[] {3}, new byte[] {1, 2, 3});
        assertThrows(IllegalArgumentException.class, () -> Idx.writeUbyte(f, new int[] {4}, new byte[] {1, 2, 3}));
        assertArrayEquals(new byte[] {1, 2, 3}, Idx.read(f).data(), "the earlier file is intact");
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count(), "no temporary files left behind");
        }
    }

    /** A folder passed as an IDX file was "no such file", which sends a user looking for a typo (devices: SpecialFilesTest). */
    @Test
    void aFolderIsNamedAsSuchNotAsMissing() throws IOException {
        Path folder = Files.createDirectory(tmp.resolve("train-images-idx3-ubyte"));
        IOException e = assertThrows(IOException.class, () -> Idx.read(folder));
        assertEquals(folder + ": is a folder, not an IDX file", e.getMessage());
        Path missing = tmp.resolve("t10k-labels-idx1-ubyte");
        IOException m = assertThrows(IOException.class, () -> Idx.read(missing));
        assertEquals(missing + ": no such file", m.getMessage());
    }
}
