package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradus.io.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Files that are not files passed where data is read (a script's {@code /dev/zero}, a device, a {@code /proc} file
 * whose size reads 0): every reader refuses each with one {@code IOException} line that starts with the path, within
 * seconds, instead of reading an endless stream into the heap. {@code readSubmission} read {@code /dev/zero} until
 * an OutOfMemoryError and ran on over {@code /dev/urandom}; {@code Idx.read} called each "no such file".
 */
class SpecialFilesTest {
    @FunctionalInterface
    private interface Reader {
        void read(Path file) throws IOException;
    }

    @Test
    void everyReaderRefusesADeviceInOneLine() {
        assumeTrue(Files.exists(Path.of("/dev/zero")), "no /dev/zero here");
        Map<String, Reader> readers = new LinkedHashMap<>();
        readers.put("Safetensors.read", Safetensors::read);
        readers.put("Idx.read", Idx::read);
        readers.put("KaggleDigits.readTrain", KaggleDigits::readTrain);
        readers.put("KaggleDigits.readTest", KaggleDigits::readTest);
        readers.put("KaggleDigits.readSubmission", KaggleDigits::readSubmission);
        List<String> failed = new ArrayList<>();
        int cases = 0;
        for (String device : new String[] {"/dev/zero", "/dev/urandom", "/dev/null", "/proc/self/status"}) {
            Path f = Path.of(device);
            if (!Files.isReadable(f)) {
                continue;
            }
            for (Map.Entry<String, Reader> r : readers.entrySet()) {
                cases++;
                Throwable thrown = assertTimeoutPreemptively(
                        Duration.ofSeconds(15),
                        () -> {
                            try {
                                r.getValue().read(f);
                                return null;
                            } catch (Throwable e) {
                                return e;
                            }
                        },
                        r.getKey() + " of " + device + " ran on");
                String m = thrown == null ? null : thrown.getMessage();
                if (!(thrown instanceof IOException) || m == null || !m.startsWith(device + ":") || m.contains("\n")) {
                    failed.add(r.getKey() + " of " + device + ": " + (thrown == null ? "read" : thrown));
                }
            }
        }
        assertEquals(List.of(), failed, String.join("\n", failed));
        assumeTrue(cases > 0, "no device readable here");
    }
}
