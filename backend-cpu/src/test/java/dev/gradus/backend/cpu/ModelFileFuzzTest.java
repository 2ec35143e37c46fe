package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import java.nio.file.Files;
import java.nio.file.Path;
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
}
