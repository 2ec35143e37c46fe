package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Safetensors model files: a round trip that predicts exactly the same, PyTorch's names and the documented header, a
 * different architecture refused naming every difference, truncated and corrupt files named, a failed save leaving
 * the earlier file intact, and the same bytes whatever order the caller's metadata map iterates in. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface ModelFilesConformance extends SuiteHelpers {
    /**
     * The same model and metadata give the same file bytes whatever order the caller's metadata map iterates in
     * (a {@code Map.of} iterates in a different order in each JVM, which made two saves of one model differ).
     */
    @Test
    default void aSavedFileDoesNotDependOnTheMetadataMapsOrder(@TempDir Path dir) throws IOException {
        Dense m = new Dense(suiteBackend(), 3, 2, true, Init.PYTORCH, new Rng(3));
        Map<String, String> ab = new LinkedHashMap<>();
        ab.put("gradus.example", "mlp");
        ab.put("gradus.hidden", "48");
        Map<String, String> ba = new LinkedHashMap<>();
        ba.put("gradus.hidden", "48");
        ba.put("gradus.example", "mlp");
        dev.gradus.io.Safetensors.save(m, dir.resolve("ab.safetensors"), ab);
        dev.gradus.io.Safetensors.save(m, dir.resolve("ba.safetensors"), ba);
        assertArrayEquals(
                Files.readAllBytes(dir.resolve("ab.safetensors")), Files.readAllBytes(dir.resolve("ba.safetensors")));
        m.close();
    }

    @Test
    default void safetensorsRoundTripPredictsExactlyTheSame(@TempDir Path dir) throws IOException {
        Sequential a = new Sequential(
                new Dense(suiteBackend(), 6, 5, true, Init.PYTORCH, new Rng(1)),
                new ReLU(),
                new BatchNorm1d(suiteBackend(), BatchNorm.Config.of(5)),
                new Dense(suiteBackend(), 5, 3, true, Init.PYTORCH, new Rng(2)));
        Tensor x = rand(-1, 1, 4, 6);
        a.forward(x); // training mode: moves the running statistics away from 0/1
        a.eval();
        float[] before = a.forward(x).toFloatArray();
        Path file = dir.resolve("model.safetensors");
        dev.gradus.io.Safetensors.save(a, file);
        Sequential b = new Sequential(
                new Dense(suiteBackend(), 6, 5, true, Init.PYTORCH, new Rng(7)),
                new ReLU(),
                new BatchNorm1d(suiteBackend(), BatchNorm.Config.of(5)),
                new Dense(suiteBackend(), 5, 3, true, Init.PYTORCH, new Rng(8)));
        b.eval();
        dev.gradus.io.Safetensors.load(b, file);
        assertArrayEquals(before, b.forward(x).toFloatArray(), "identical predictions after loading");
        var contents = dev.gradus.io.Safetensors.read(file);
        assertEquals(
                List.of(
                        "0.weight",
                        "0.bias",
                        "2.weight",
                        "2.bias",
                        "3.weight",
                        "3.bias",
                        "2.running_mean",
                        "2.running_var",
                        "2.num_batches_tracked"),
                List.copyOf(contents.tensors().keySet()));
        assertEquals("pt", contents.metadata().get("format"));
        assertTrue(contents.metadata().get("gradus.architecture").contains("0:Dense(6 -> 5)"));
        // the header is the documented JSON: little-endian length, then {"__metadata__":..., "0.weight":{...}}
        byte[] bytes = Files.readAllBytes(file);
        long headerLen =
                ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
        assertTrue(
                header.contains("\"0.weight\":{\"dtype\":\"F32\",\"shape\":[5,6],\"data_offsets\":[0,120]}"), header);
        // a different architecture fails and names every difference
        Sequential other = new Sequential(
                new Dense(suiteBackend(), 6, 4, true, Init.PYTORCH, new Rng(1)),
                new ReLU(),
                new Dense(suiteBackend(), 4, 3, true, Init.PYTORCH, new Rng(2)));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> dev.gradus.io.Safetensors.load(other, file));
        assertTrue(
                e.getMessage().contains("'0.weight' has shape [5, 6] in the file, [4, 6] in the model")
                        && e.getMessage().contains("unexpected '3.weight'")
                        && e.getMessage().contains("'2.weight' has shape [5] in the file, [3, 4] in the model")
                        && e.getMessage().contains("file architecture"),
                e.getMessage());
        a.close();
        b.close();
        other.close();
    }

    @Test
    default void corruptModelFilesAreNamed(@TempDir Path dir) throws IOException {
        Sequential m = new Sequential(new Dense(suiteBackend(), 3, 2, true, Init.PYTORCH, new Rng(1)));
        Path good = dir.resolve("good.safetensors");
        dev.gradus.io.Safetensors.save(m, good);
        byte[] bytes = Files.readAllBytes(good);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 5));
        var e1 = assertThrows(dev.gradus.io.ModelFormatException.class, () -> dev.gradus.io.Safetensors.read(cut));
        assertTrue(
                e1.getMessage().contains("cut.safetensors") && e1.getMessage().contains("truncated"), e1.getMessage());
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertThrows(dev.gradus.io.ModelFormatException.class, () -> dev.gradus.io.Safetensors.read(tiny));
        Path png = dir.resolve("not-a-model.safetensors");
        Files.write(png, new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 0});
        var e2 = assertThrows(dev.gradus.io.ModelFormatException.class, () -> dev.gradus.io.Safetensors.read(png));
        assertTrue(e2.getMessage().contains("not a safetensors file"), e2.getMessage());
        String header = new String(bytes, 8, bytes.length - 8, StandardCharsets.ISO_8859_1);
        Path sizes = dir.resolve("sizes.safetensors");
        byte[] wrong = bytes.clone();
        int at = header.indexOf("[2,3]");
        wrong[8 + at + 1] = '9'; // shape [9,3] no longer matches its 24 bytes
        Files.write(sizes, wrong);
        var e3 = assertThrows(dev.gradus.io.ModelFormatException.class, () -> dev.gradus.io.Safetensors.read(sizes));
        assertTrue(e3.getMessage().contains("'0.weight'") && e3.getMessage().contains("[9, 3]"), e3.getMessage());
        // a save that fails half-way leaves the previous file untouched
        Sequential broken = new Sequential(new Dense(suiteBackend(), 3, 2, true, Init.PYTORCH, new Rng(5)));
        broken.namedParameters().get("0.bias").close();
        assertThrows(IllegalStateException.class, () -> dev.gradus.io.Safetensors.save(broken, good));
        assertArrayEquals(bytes, Files.readAllBytes(good), "the earlier good file is intact");
        broken.namedParameters().get("0.weight").close();
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".tmp")), "no temporary files left");
        }
        m.close();
    }
}
