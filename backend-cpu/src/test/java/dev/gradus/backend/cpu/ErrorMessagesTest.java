package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.io.AtomicFiles;
import dev.gradus.io.FileErrors;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Errors a user reads: one line that says what is wrong and where (the file, the op and its shapes), short even for
 * a hostile file.
 */
class ErrorMessagesTest {
    @TempDir
    Path dir;

    @Test
    void aMissingFileSaysNoSuchFile() {
        Path file = dir.resolve("nonexistent/model.safetensors");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Safetensors.read(file));
        assertEquals(file + ": no such file or directory", FileErrors.describe(e));
    }

    @Test
    void aDirectoryReadAsAModelIsNamed() throws IOException {
        Path folder = Files.createDirectory(dir.resolve("model.safetensors"));
        IOException e = assertThrows(IOException.class, () -> Safetensors.read(folder));
        assertTrue(e.getMessage().contains(folder.toString()), e.getMessage());
        assertTrue(FileErrors.describe(e).startsWith(folder + ": "), FileErrors.describe(e));
    }

    /** A full disk fails the write inside the stream, where the JDK's error names no file. */
    @Test
    void aFullDiskNamesTheFile() {
        Path file = dir.resolve("out/model.safetensors");
        IOException e = assertThrows(
                IOException.class,
                () -> AtomicFiles.write(file, out -> {
                    out.write(new byte[100]);
                    throw new IOException("No space left on device");
                }));
        assertEquals(file + ": No space left on device", e.getMessage());
        assertTrue(e instanceof FileSystemException fse && file.toString().equals(fse.getFile()));
    }

    /** 2,000 unexpected tensors with long names listed each made a message megabytes long. */
    @Test
    void aFileOfManyUnexpectedTensorsGivesAShortMessage() throws IOException {
        StringBuilder h = new StringBuilder("{");
        String pad = "x".repeat(1000);
        for (int i = 0; i < 2000; i++) {
            h.append(i > 0 ? "," : "")
                    .append("\"extra.")
                    .append(i)
                    .append(pad)
                    .append("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[")
                    .append(4 * i)
                    .append(',')
                    .append(4 * i + 4)
                    .append("]}");
        }
        byte[] header = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        // A well-formed file (each tensor its own 4 bytes), so the error is about the model, not the layout.
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 4 * 2000).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        for (int i = 0; i < 2000; i++) {
            b.putFloat(1f);
        }
        Path file = dir.resolve("many.safetensors");
        Files.write(file, b.array());
        Backend be = CpuBackendProvider.get();
        try (Dense d = new Dense(be, 3, 2, true, Init.PYTORCH, new Rng(1))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Safetensors.load(d, file));
            String m = e.getMessage();
            assertTrue(m.length() < 3000, m.length() + " characters: " + m.substring(0, 300));
            assertFalse(m.contains("\n"), m);
            assertTrue(m.contains(file.toString()) && m.contains("and 1997 more"), m);
        }
    }

    @Test
    void crossEntropyWithFloatLabelsSaysLabelsMustBeInt32() {
        Tensor logits = Tensor.zeros(4, 10);
        Tensor labels = Tensor.of(new float[] {1, 2, 3, 4});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> logits.crossEntropy(labels));
        assertTrue(
                e.getMessage().contains("must be INT32 class indices")
                        && e.getMessage().contains("FLOAT32"),
                e.getMessage());
        logits.close();
        labels.close();
    }
}
