package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.io.ModelFormatException;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files as PyTorch writes them: other dtypes converted, partial loads reported. */
class SafetensorsLoadTest {
    @TempDir
    Path dir;

    /** A safetensors file of raw little-endian tensors {@code name -> (dtype, shape, bytes)}, as other tools write. */
    private static byte[] file(Object[][] tensors) throws Exception {
        StringBuilder h = new StringBuilder("{");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Object[] t : tensors) {
            byte[] bytes = (byte[]) t[3];
            h.append(h.length() > 1 ? "," : "")
                    .append('"')
                    .append(t[0])
                    .append("\":{\"dtype\":\"")
                    .append(t[1])
                    .append("\",\"shape\":")
                    .append(t[2])
                    .append(",\"data_offsets\":[")
                    .append(data.size())
                    .append(',')
                    .append(data.size() + bytes.length)
                    .append("]}");
            data.write(bytes);
        }
        byte[] header = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data.toByteArray());
        return b.array();
    }

    /** A file of {@code header} (as is, no padding) and {@code data}. */
    static byte[] raw(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length)
                .put(h)
                .put(data)
                .array();
    }

    /** The one-line message of reading {@code bytes}, which must be refused with a {@link ModelFormatException}. */
    private String refused(byte[] bytes) throws Exception {
        Path p = dir.resolve("bad.safetensors");
        Files.write(p, bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Safetensors.read(p));
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    private static void has(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "'" + part + "' not in: " + message);
        }
    }

    /**
     * The layout checks of the reference loader (huggingface safetensors' {@code Metadata::validate}): names once,
     * ranges from 0 without overlap or gap up to the end of the file, every field of its type.
     */
    @Test
    void theLayoutIsCheckedAsTheReferenceLoaderChecksIt() throws Exception {
        String a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        // a duplicated name does not silently win
        has(
                refused(raw(
                        "{" + a + ",\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", new byte[16])),
                "tensor 'a' appears twice");
        // two names on the same bytes
        has(
                refused(raw("{" + a + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8])),
                "'b' data_offsets [0, 8] overlap tensor 'a' [0, 8]");
        has(
                refused(raw(
                        "{" + a + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12])),
                "overlap");
        // bytes after the last tensor, and a hole between two
        has(refused(raw("{" + a + "}", new byte[12])), "4 bytes after the last tensor");
        has(
                refused(raw(
                        "{" + a + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", new byte[16])),
                "tensor 'b'",
                "data bytes 8 to 12 unused");
        // a missing shape is not a scalar
        has(
                refused(raw("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4])),
                "tensor 'a' lacks its shape");
        // a value of the wrong type does not carry the parser into the next tensor
        has(
                refused(raw(
                        "{\"a\":{\"dtype\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                + "\"shape\":[1],\"data_offsets\":[0,4]}}",
                        new byte[4])),
                "tensor 'a' field 'dtype' should be a string");
        has(
                refused(raw(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}",
                        new byte[4])),
                "tensor 'a' field 'data_offsets' element 1 is 99999999999999999999");
        has(
                refused(raw(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4])),
                "tensor 'a' field 'shape' appears twice");
        // metadata values are strings; nothing follows the header's object
        has(
                refused(raw("{\"__metadata__\":{\"format\":1}," + a + "}", new byte[8])),
                "__metadata__ value 'format' should be a string");
        has(refused(raw("{" + a + "}{}", new byte[8])), "after the header's closing '}'");
        // what holds stays: an empty file and zero-size tensors anywhere in the order
        Path ok = dir.resolve("ok.safetensors");
        Files.write(ok, raw("{}  ", new byte[0]));
        assertEquals(0, Safetensors.read(ok).tensors().size());
        Files.write(
                ok,
                raw(
                        "{\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]}," + a
                                + ",\"y\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
                        new byte[8]));
        assertEquals(
                List.of("z", "a", "y"),
                List.copyOf(Safetensors.read(ok).tensors().keySet()));
    }

    /** 2,000 entries on the same 4 MB would be 16 GB of floats: the file is refused before anything is read. */
    @Test
    void entriesSharingTheirBytesAreRefusedBeforeAllocating() throws Exception {
        int n = 1 << 20;
        StringBuilder h = new StringBuilder("{");
        for (int i = 0; i < 2_000; i++) {
            h.append(i == 0 ? "" : ",")
                    .append("\"t")
                    .append(i)
                    .append("\":{\"dtype\":\"F32\",\"shape\":[")
                    .append(n)
                    .append("],\"data_offsets\":[0,")
                    .append(4 * n)
                    .append("]}");
        }
        has(refused(raw(h.append('}').toString(), new byte[4 * n])), "'t1' data_offsets [0, 4194304] overlap");
    }

    private static byte[] le(int width, long... values) {
        ByteBuffer b = ByteBuffer.allocate(width * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (width) {
                case 1 -> b.put((byte) v);
                case 2 -> b.putShort((short) v);
                case 4 -> b.putInt((int) v);
                default -> b.putLong(v);
            }
        }
        return b.array();
    }

    @Test
    void otherDtypesAreReadAsFloatAndRoundingIsNoted() throws Exception {
        ByteBuffer f64 = ByteBuffer.allocate(16)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putDouble(0.1)
                .putDouble(2.0);
        Path p = dir.resolve("mixed.safetensors");
        Files.write(p, file(new Object[][] {
            {"half", "F16", "[4]", le(2, 0x3C00, 0xC100, 0x7BFF, 0x0001)},
            {"brain", "BF16", "[2]", le(2, 0x3F80, 0xC040)},
            {"double", "F64", "[2]", f64.array()},
            {"long", "I64", "[2]", le(8, 5, 16_777_217)},
            {"byte", "U8", "[2]", le(1, 0, 255)},
            {"flag", "BOOL", "[2]", le(1, 1, 0)}
        }));
        Safetensors.Contents c = Safetensors.read(p);
        assertArrayEquals(
                new float[] {1f, -2.5f, 65504f, 0x1p-24f},
                c.tensors().get("half").values());
        assertArrayEquals(new float[] {1f, -3f}, c.tensors().get("brain").values());
        assertArrayEquals(new float[] {0.1f, 2f}, c.tensors().get("double").values());
        assertArrayEquals(new float[] {5f, 16_777_216f}, c.tensors().get("long").values());
        assertArrayEquals(new float[] {0f, 255f}, c.tensors().get("byte").values());
        assertArrayEquals(new float[] {1f, 0f}, c.tensors().get("flag").values());
        assertEquals("I64", c.tensors().get("long").dtype());
        assertEquals(
                List.of("'double' F64 -> F32: 1 of 2 values rounded", "'long' I64 -> F32: 1 of 2 values rounded"),
                c.conversions());
        Files.write(p, file(new Object[][] {{"c", "C64", "[1]", le(8, 0)}}));
        Exception e = assertThrows(Exception.class, () -> Safetensors.read(p));
        assertTrue(e.getMessage().contains("dtype C64") && e.getMessage().contains("BF16"), e.getMessage());
    }

    @Test
    void aNonStrictLoadTakesWhatFitsAndReportsTheRest() throws Exception {
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(2);
        Path small = dir.resolve("small.safetensors");
        try (Sequential a = new Sequential(new Dense(cpu, 4, 3, true, Init.PYTORCH, rng));
                Sequential b = new Sequential(
                        new Dense(cpu, 4, 3, true, Init.PYTORCH, rng),
                        new ReLU(),
                        new Dense(cpu, 3, 2, true, Init.PYTORCH, rng))) {
            Safetensors.save(a, small);
            assertThrows(IllegalArgumentException.class, () -> Safetensors.load(b, small));
            Safetensors.LoadReport r = Safetensors.load(b, small, false);
            assertEquals(List.of("2.weight", "2.bias"), r.missing());
            assertEquals(List.of(), r.unexpected());
            assertArrayEquals(
                    a.namedParameters().get("0.weight").toFloatArray(),
                    b.namedParameters().get("0.weight").toFloatArray());
            Path big = dir.resolve("big.safetensors");
            Safetensors.save(b, big);
            Safetensors.LoadReport r2 = Safetensors.load(a, big, false);
            assertEquals(List.of("2.weight", "2.bias"), r2.unexpected());
        }
        // A PyTorch BatchNorm2d state_dict carries num_batches_tracked as I64: it loads strictly, the count included.
        Path torch = dir.resolve("bn.safetensors");
        ByteBuffer mean = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(0.5f)
                .putFloat(-1f);
        ByteBuffer var = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(2f)
                .putFloat(3f);
        ByteBuffer ones = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(1f)
                .putFloat(1f);
        Files.write(torch, file(new Object[][] {
            {"0.weight", "F32", "[2]", ones.array()},
            {"0.bias", "F32", "[2]", new byte[8]},
            {"0.running_mean", "F32", "[2]", mean.array()},
            {"0.running_var", "F32", "[2]", var.array()},
            {"0.num_batches_tracked", "I64", "[]", le(8, 469)}
        }));
        try (Sequential m = new Sequential(new BatchNorm2d(cpu, BatchNorm.Config.of(2)))) {
            Safetensors.LoadReport r = Safetensors.load(m, torch, true);
            assertEquals(List.of(), r.unexpected());
            assertEquals(List.of(), r.missing());
            BatchNorm bn = (BatchNorm) m.layers().get(0);
            assertArrayEquals(new float[] {0.5f, -1f}, bn.runningMean().toFloatArray());
            assertEquals(469, bn.numBatchesTracked());
            // training counts on from the loaded value, and a save writes it back under PyTorch's name
            try (Scope s = Scope.open()) {
                m.train();
                m.forward(Tensor.ones(cpu, 3, 2, 2, 2));
            }
            assertEquals(470, bn.numBatchesTracked());
            Path again = dir.resolve("bn-again.safetensors");
            Safetensors.save(m, again);
            assertArrayEquals(
                    new float[] {470},
                    Safetensors.read(again)
                            .tensors()
                            .get("0.num_batches_tracked")
                            .values());
        }
        // A file without the counter (PyTorch before 0.4.1, or Gradus before it saved one) still loads strictly.
        Path old = dir.resolve("old-bn.safetensors");
        Files.write(old, file(new Object[][] {
            {"0.weight", "F32", "[2]", ones.array()},
            {"0.bias", "F32", "[2]", new byte[8]},
            {"0.running_mean", "F32", "[2]", mean.array()},
            {"0.running_var", "F32", "[2]", var.array()}
        }));
        try (Sequential m = new Sequential(new BatchNorm2d(cpu, BatchNorm.Config.of(2)))) {
            Safetensors.LoadReport r = Safetensors.load(m, old, true);
            assertEquals(List.of("0.num_batches_tracked"), r.missing());
            assertEquals(0, ((BatchNorm) m.layers().get(0)).numBatchesTracked());
        }
        try (Sequential m = new Sequential(new Dense(cpu, 4, 2, true, Init.PYTORCH, new Rng(1)))) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Safetensors.load(m, small, false));
            assertTrue(
                    e.getMessage().contains("'0.weight' has shape [3, 4] in the file, [2, 4] in the model"),
                    e.getMessage());
        }
    }
}
