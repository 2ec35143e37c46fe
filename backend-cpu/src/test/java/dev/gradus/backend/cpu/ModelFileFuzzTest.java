package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.io.ModelFormatException;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import dev.gradus.testing.Fuzz;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random bytes and mutations of saved models: {@link Safetensors#read} loads or throws
 * {@link ModelFormatException}; {@link Safetensors#load} additionally may refuse a well-formed file for another
 * architecture with its documented {@link IllegalArgumentException}, and then leaves the model untouched.
 */
class ModelFileFuzzTest {
    @TempDir
    Path tmp;

    private static Sequential model(Backend cpu, long seed) {
        return new Sequential(
                new Conv2d(cpu, new Conv2d.Config(1, 2, 3, 3, 1, 1, 1, 1, true), Init.PYTORCH, new Rng(seed)),
                new BatchNorm2d(cpu, BatchNorm2d.Config.of(2)),
                new ReLU(),
                new Flatten(),
                new Dense(cpu, 2 * 4 * 4, 3, true, Init.PYTORCH, new Rng(seed + 1)));
    }

    @Test
    void readersLoadOrThrowTheirDocumentedExceptions() throws Exception {
        Backend cpu = CpuBackendProvider.get();
        try (Sequential saved = model(cpu, 1);
                Sequential target = model(cpu, 7)) {
            Path good = tmp.resolve("good.safetensors");
            Safetensors.save(saved, good);
            Path plain = tmp.resolve("plain.safetensors");
            Safetensors.write(plain, new LinkedHashMap<String, dev.gradus.Tensor>(saved.namedParameters()), Map.of());
            List<byte[]> valid = List.of(Files.readAllBytes(good), Files.readAllBytes(plain));

            var read = Fuzz.reader("safetensors-read", Safetensors::read)
                    .text()
                    .documented(e -> e instanceof ModelFormatException)
                    .run(tmp, valid, 3_000, 31);
            assertTrue(read.rejected() > 1_000 && read.loaded() > 50, read.toString());

            Path original = tmp.resolve("target.safetensors");
            Safetensors.save(target, original);
            float[] before = target.namedParameters().get("4.weight").toFloatArray();
            var load = Fuzz.reader("safetensors-load", f -> {
                        try {
                            Safetensors.load(target, f);
                        } catch (IllegalArgumentException e) {
                            assertArrayEquals(
                                    before,
                                    target.namedParameters().get("4.weight").toFloatArray(),
                                    "a refused file changes nothing");
                            throw e;
                        }
                        Safetensors.load(target, original); // undo it for the next input
                    })
                    .documented(e -> e instanceof ModelFormatException
                            || e instanceof IllegalArgumentException
                                    && e.getMessage().contains("does not match the model"))
                    .run(tmp, valid, 1_000, 32);
            assertTrue(load.rejected() > 300, load.toString());
        }
    }

    private static byte[] lengthOnly(long headerLength, int extra) {
        return ByteBuffer.allocate(8 + extra)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(headerLength)
                .array();
    }

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    /**
     * An attacker's pass over the safetensors reader: each hostile file is a ModelFormatException whose one line
     * names the file and what is wrong (the tensor and the field where there is one).
     */
    @Test
    void hostileFilesAreOneLineNamingWhatIsWrong() throws Exception {
        byte[] nonUtf8 = SafetensorsLoadTest.raw("{" + entry("ab", "\"F32\"", "[1]", "[0,4]") + "}", new byte[4]);
        nonUtf8[8 + 2] = (byte) 0xC3; // "a" becomes half of a two-byte sequence
        nonUtf8[8 + 3] = (byte) 0x28;
        byte[] good = SafetensorsLoadTest.raw("{" + entry("a", "\"F32\"", "[2]", "[0,8]") + "}", new byte[8]);
        Map<String, byte[]> cases = new LinkedHashMap<>();
        Map<String, String> says = new LinkedHashMap<>();
        String[][] table = {
            {"empty", "", "truncated: 0 bytes"},
            {"header length -1", "", "header length -1"},
            {"header length 2^62", "", "header length 4611686018427387904"},
            {"header past the end", "", "truncated: the header needs 64 bytes"},
            {"BOM before the header", "\uFEFF{}", "does not start with '{'"},
            {"non-UTF-8 name", "", "not valid UTF-8"},
            {"NaN in a shape", "{" + entry("a", "\"F32\"", "[NaN]", "[0,4]") + "}", "tensor 'a'"},
            {
                "float in a shape",
                "{" + entry("a", "\"F32\"", "[1.0]", "[0,4]") + "}",
                "tensor 'a' field 'shape' element 0 should be a non-negative integer, found VALUE_NUMBER_FLOAT 1.0"
            },
            {
                "negative dimension",
                "{" + entry("a", "\"F32\"", "[-1]", "[0,4]") + "}",
                "tensor 'a' field 'shape' element 0 is -1"
            },
            {
                "string dimension",
                "{" + entry("a", "\"F32\"", "[\"1\"]", "[0,4]") + "}",
                "tensor 'a' field 'shape' element 0 should be a non-negative integer, found VALUE_STRING 1"
            },
            {
                "shape product past 2^64",
                "{" + entry("a", "\"F32\"", "[65535,65537,641,6700417]", "[0,4]") + "}",
                "tensor 'a' of shape [65535, 65537, 641, 6700417] (F32) has more bytes than a 64-bit size holds"
            },
            {
                "dimension past int",
                "{" + entry("a", "\"F32\"", "[2147483648]", "[0,4]") + "}",
                "tensor 'a' has shape [2147483648]: dimension 0 is larger than a Java array"
            },
            {"three offsets", "{" + entry("a", "\"F32\"", "[1]", "[0,4,8]") + "}", "tensor 'a' needs two data_offsets"},
            {
                "reversed offsets",
                "{" + entry("a", "\"F32\"", "[1]", "[4,0]") + "}",
                "tensor 'a' of shape [1] (F32) needs 4 bytes but its data_offsets are [4, 0]"
            },
            {"size and offsets disagree", "{" + entry("a", "\"F32\"", "[3]", "[0,8]") + "}", "needs 12 bytes"},
            {"lower-case dtype", "{" + entry("a", "\"f32\"", "[2]", "[0,8]") + "}", "tensor 'a' has dtype f32"},
            {
                "numeric dtype",
                "{" + entry("a", "32", "[2]", "[0,8]") + "}",
                "tensor 'a' field 'dtype' should be a string, found VALUE_NUMBER_INT"
            },
            {"entry not an object", "{\"a\":5}", "tensor 'a' should be START_OBJECT"},
            {"null metadata value", "{\"__metadata__\":{\"k\":null}}", "__metadata__ value 'k'"},
            {"__metadata__ twice", "{\"__metadata__\":{},\"__metadata__\":{}}", "__metadata__ appears twice"},
            {"NUL padding", "{}\u0000\u0000", "corrupt header"},
            {"deep nesting", "{\"a\":{\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}}", "in tensor 'a'"},
            {"name with a line break", "{" + entry("a\\nb", "\"F32\"", "[1]", "[0,4]") + "}", "tensor 'a?b'"},
            {"truncated data", "{" + entry("a", "\"F32\"", "[4]", "[0,16]") + "}", "truncated: tensor 'a' ends at"},
        };
        for (String[] row : table) {
            byte[] bytes = switch (row[0]) {
                case "empty" -> new byte[0];
                case "header length -1" -> lengthOnly(-1, 8);
                case "header length 2^62" -> lengthOnly(1L << 62, 8);
                case "header past the end" -> lengthOnly(64, 8);
                case "non-UTF-8 name" -> nonUtf8;
                case "truncated data" -> SafetensorsLoadTest.raw(row[1], new byte[10]);
                default -> SafetensorsLoadTest.raw(row[1], new byte[8]);
            };
            cases.put(row[0], bytes);
            says.put(row[0], row[2]);
        }
        // a good file cut at every length refuses cleanly
        for (int cut = 0; cut < good.length; cut++) {
            cases.put("cut at " + cut, Arrays.copyOf(good, cut));
            says.put("cut at " + cut, "");
        }
        List<String> failed = new ArrayList<>();
        for (Map.Entry<String, byte[]> c : cases.entrySet()) {
            Path f = tmp.resolve("hostile.safetensors");
            Files.write(f, c.getValue());
            try {
                Safetensors.read(f);
                failed.add(c.getKey() + ": loaded");
            } catch (ModelFormatException e) {
                String m = e.getMessage();
                if (!m.startsWith(f + ": ")
                        || m.contains("\n")
                        || m.length() > 400
                        || !m.contains(says.get(c.getKey()))) {
                    failed.add(c.getKey() + ": " + m);
                }
            } catch (Throwable e) {
                failed.add(c.getKey() + ": " + e);
            }
        }
        assertEquals(List.of(), failed, String.join("\n", failed));
    }
}
