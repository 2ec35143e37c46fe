package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads from a server on the loopback interface: checksums, mirror fallback, atomic placement. */
class DownloadTest {
    @TempDir
    Path tmp;

    HttpServer server;
    String base;
    final byte[] good = "the real file contents".getBytes();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        Map<String, byte[]> files = Map.of("/good/data.bin", good, "/corrupt/data.bin", "tampered".getBytes());
        server.createContext("/", ex -> {
            byte[] body = files.get(ex.getRequestURI().getPath());
            if (body == null) {
                ex.sendResponseHeaders(404, -1);
            } else {
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            }
            ex.close();
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void fallsBackAcrossMirrorsAndVerifiesTheChecksum() throws Exception {
        Download.Resource r = new Download.Resource(
                "data.bin", sha256(good), List.of(base + "/missing/", base + "/corrupt/", base + "/good/"));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path got = Download.fetch(r, tmp.resolve("cache"), new PrintStream(log));
        assertArrayEquals(good, Files.readAllBytes(got));
        assertTrue(log.toString().contains("downloading"), log.toString());
        try (var s = Files.list(tmp.resolve("cache"))) {
            assertEquals(1, s.count(), "no partial files left");
        }
    }

    @Test
    void aChecksumMismatchLeavesNothingBehind() throws Exception {
        Download.Resource r = new Download.Resource("data.bin", sha256(good), List.of(base + "/corrupt/"));
        Path dir = tmp.resolve("cache");
        IOException e = assertThrows(IOException.class, () -> Download.fetch(r, dir, null));
        assertTrue(e.getMessage().contains("does not match"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("data.bin")));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void publishedChecksumsMatchTheRealFilesWhereTheyAreTheCanonicalOnes() throws Exception {
        // The four MNIST and Fashion-MNIST entries each carry a 64-hex-digit SHA-256.
        for (Download.Resource r : Download.MNIST) {
            assertEquals(64, r.sha256().length(), r.file());
        }
        for (Download.Resource r : Download.FASHION_MNIST) {
            assertEquals(64, r.sha256().length(), r.file());
        }
    }
}
