package dev.gradus.datasets;

import java.io.BufferedInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * Reads and writes IDX files (the MNIST format), raw or gzip-compressed, checked against their header.
 *
 * <p>Layout: two zero bytes, a type code, the number of dimensions, one big-endian int per dimension, then the
 * elements in row-major order, big-endian.
 *
 * <pre>{@code
 * Idx.Array images = Idx.read(Path.of("train-images-idx3-ubyte.gz"));   // dims [60000, 28, 28]
 * Idx.write(Path.of("out-idx1-ubyte"), Idx.Type.UBYTE, new int[] {3}, new byte[] {1, 2, 3});
 * }</pre>
 */
public final class Idx {
    private Idx() {}

    /** Element types and their IDX type codes. */
    public enum Type {
        UBYTE(0x08, 1),
        BYTE(0x09, 1),
        SHORT(0x0B, 2),
        INT(0x0C, 4),
        FLOAT(0x0D, 4),
        DOUBLE(0x0E, 8);

        final int code;
        final int size;

        Type(int code, int size) {
            this.code = code;
            this.size = size;
        }

        /** Bytes per element. */
        public int size() {
            return size;
        }

        static Type of(int code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return null;
        }
    }

    /**
     * A decoded IDX array: its type, dimensions and the big-endian element bytes.
     *
     * <p>{@code array.get(i)} reads element {@code i} as a double whatever the type.
     */
    public record Array(Type type, int[] dims, byte[] data) {
        /** Number of elements. */
        public int count() {
            int n = 1;
            for (int d : dims) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        /** Element {@code i} (row-major) as a double. */
        public double get(int i) {
            ByteBuffer b = ByteBuffer.wrap(data);
            return switch (type) {
                case UBYTE -> data[i] & 0xFF;
                case BYTE -> data[i];
                case SHORT -> b.getShort(i * 2);
                case INT -> b.getInt(i * 4);
                case FLOAT -> b.getFloat(i * 4);
                case DOUBLE -> b.getDouble(i * 8);
            };
        }

        /** All elements as ints (floating types are truncated). */
        public int[] toInts() {
            int[] out = new int[count()];
            if (type == Type.UBYTE) {
                for (int i = 0; i < out.length; i++) {
                    out[i] = data[i] & 0xFF;
                }
                return out;
            }
            for (int i = 0; i < out.length; i++) {
                out[i] = (int) get(i);
            }
            return out;
        }

        /** All elements as floats multiplied by {@code scale} (1/255 turns pixels into [0, 1]). */
        public float[] toFloats(float scale) {
            float[] out = new float[count()];
            if (type == Type.UBYTE) {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (data[i] & 0xFF) * scale;
                }
                return out;
            }
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) (get(i) * scale);
            }
            return out;
        }

        @Override
        public String toString() {
            return "Idx.Array(" + type + ", " + Arrays.toString(dims) + ")";
        }
    }

    /** Reads an IDX file, gunzipping it when it starts with the gzip magic. */
    public static Array read(Path file) throws IOException {
        String name = file.toString();
        if (!Files.isRegularFile(file)) {
            // a folder or a device (/dev/zero, a pipe) exists: "no such file" sent users looking for a typo
            throw Files.exists(file)
                    ? new FileSystemException(
                            name, null, Files.isDirectory(file) ? "is a folder, not an IDX file" : "not a regular file")
                    : new FileNotFoundException(name + ": no such file");
        }
        boolean gz;
        try (InputStream probe = Files.newInputStream(file)) {
            gz = probe.read() == 0x1f && probe.read() == 0x8b;
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            InputStream in = raw;
            if (gz) {
                try {
                    in = new GZIPInputStream(raw, 1 << 16);
                } catch (ZipException | EOFException e) {
                    throw new IdxFormatException(name, 0, "corrupt gzip header: " + e.getMessage(), e);
                }
            }
            return read(name, in);
        }
    }

    /** Reads an uncompressed IDX stream; {@code name} appears in error messages. */
    public static Array read(String name, InputStream in) throws IOException {
        Counting c = new Counting(name, in);
        byte[] header = c.readFully(4, "header");
        if (header[0] != 0 || header[1] != 0) {
            throw new IdxFormatException(
                    name,
                    0,
                    String.format(
                            "wrong magic 0x%02x%02x%02x%02x: an IDX file starts" + " with two zero bytes",
                            header[0], header[1], header[2], header[3]));
        }
        Type type = Type.of(header[2] & 0xFF);
        if (type == null) {
            throw new IdxFormatException(name, 2, String.format("unknown element type code 0x%02x", header[2]));
        }
        int rank = header[3] & 0xFF;
        if (rank == 0) {
            throw new IdxFormatException(name, 3, "dimension count is 0");
        }
        int[] dims = new int[rank];
        ByteBuffer db = ByteBuffer.wrap(c.readFully(4 * rank, "dimension sizes"));
        for (int i = 0; i < rank; i++) {
            dims[i] = db.getInt();
            if (dims[i] < 0) {
                throw new IdxFormatException(name, 4 + 4L * i, "dimension " + i + " has negative size " + dims[i]);
            }
        }
        long bytes;
        try {
            // Exact arithmetic: a product that wraps (2^24 four times is 0 in a long) would read as an empty array.
            long count = 1;
            for (int d : dims) {
                count = Math.multiplyExact(count, d);
            }
            bytes = Math.multiplyExact(count, type.size);
        } catch (ArithmeticException e) {
            bytes = Long.MAX_VALUE;
        }
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new IdxFormatException(
                    name,
                    4,
                    "dimensions " + Arrays.toString(dims) + " of " + type + " describe "
                            + (bytes == Long.MAX_VALUE ? "more than 2^63" : Long.toString(bytes))
                            + " bytes, more than one array can hold");
        }
        long count = bytes / type.size;
        byte[] data = c.readFully((int) bytes, "data for dimensions " + Arrays.toString(dims));
        int extra;
        try {
            extra = in.read();
        } catch (IOException e) {
            throw c.wrap(e);
        }
        if (extra != -1) {
            throw new IdxFormatException(
                    name,
                    c.position,
                    "trailing bytes after the " + count + " elements the header " + Arrays.toString(dims)
                            + " describes");
        }
        return new Array(type, dims, data);
    }

    /** Writes an IDX file atomically (temporary file, then rename), gzip-compressed when the name ends in .gz. */
    public static void write(Path file, Type type, int[] dims, byte[] data) throws IOException {
        long count = 1;
        for (int d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("Idx.write: negative dimension in " + Arrays.toString(dims));
            }
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("Idx.write: dimensions " + Arrays.toString(dims) + " overflow", e);
            }
        }
        if (dims.length == 0 || dims.length > 255) {
            throw new IllegalArgumentException("Idx.write: needs 1 to 255 dimensions, got " + dims.length);
        }
        // Comparing the count first keeps the product below from wrapping.
        if (count > data.length || count * type.size != data.length) {
            throw new IllegalArgumentException(
                    "Idx.write: " + data.length + " bytes do not match " + type + " " + Arrays.toString(dims));
        }
        dev.gradus.io.AtomicFiles.write(file, fo -> {
            OutputStream os = file.toString().endsWith(".gz") ? new GZIPOutputStream(fo, 1 << 16) : fo;
            DataOutputStream out = new DataOutputStream(os);
            out.writeShort(0);
            out.writeByte(type.code);
            out.writeByte(dims.length);
            for (int d : dims) {
                out.writeInt(d);
            }
            out.write(data);
            out.flush();
            if (os instanceof GZIPOutputStream g) {
                g.finish();
            }
        });
    }

    /** Writes unsigned bytes, e.g. images or labels. */
    public static void writeUbyte(Path file, int[] dims, byte[] data) throws IOException {
        write(file, Type.UBYTE, dims, data);
    }

    /** Tracks the byte position so errors can say where they happened. */
    private static final class Counting {
        final String name;
        final InputStream in;
        long position;

        Counting(String name, InputStream in) {
            this.name = name;
            this.in = in;
        }

        IdxFormatException wrap(IOException e) {
            return new IdxFormatException(name, position, "corrupt or truncated compressed data: " + e.getMessage(), e);
        }

        byte[] readFully(int n, String what) throws IOException {
            // Grow as bytes arrive: a corrupt header that claims gigabytes fails at the truncation, not in the heap.
            byte[] b = new byte[Math.min(n, 1 << 20)];
            int off = 0;
            while (off < n) {
                if (off == b.length) {
                    b = Arrays.copyOf(b, (int) Math.min(n, 2L * b.length));
                }
                int r;
                try {
                    r = in.read(b, off, b.length - off);
                } catch (EOFException e) {
                    throw new IdxFormatException(
                            name,
                            position + off,
                            "truncated in the " + what + ": expected " + n + " bytes, the stream ended after " + off,
                            e);
                } catch (IOException e) {
                    position += off;
                    throw wrap(e);
                }
                if (r < 0) {
                    throw new IdxFormatException(
                            name,
                            position + off,
                            "truncated in the " + what + ": expected " + n + " bytes, found " + off);
                }
                off += r;
            }
            position += n;
            return b;
        }
    }
}
