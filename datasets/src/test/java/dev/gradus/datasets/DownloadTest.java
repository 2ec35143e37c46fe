package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads from a server on the loopback interface: checksums, mirror fallback, atomic placement. */
class DownloadTest {
    @TempDir
    Path tmp;

    HttpServer server;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    String base;
    final byte[] good = "the real file contents".getBytes();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        files.put("/good/data.bin", good);
        files.put("/corrupt/data.bin", "tampered".getBytes());
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

    /** {@code b} gzip-compressed (also the fuzz tests' seeds). */
    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(b);
        }
        return out.toByteArray();
    }

    @Test
    void aRecompressedGzipIsAcceptedByItsContentAndAWrongOneIsNot() throws Exception {
        files.put("/mirror/data.gz", gzip(good));
        files.put("/bad/data.gz", gzip("other contents".getBytes()));
        // the published hash is of some other compression of the same bytes
        String otherGzipHash = sha256("a different gzip stream".getBytes());
        Download.Resource r = new Download.Resource("data.gz", otherGzipHash, sha256(good), List.of(base + "/mirror/"));
        Path got = Download.fetch(r, tmp.resolve("a"), null);
        assertArrayEquals(gzip(good), Files.readAllBytes(got));
        Path dir = tmp.resolve("b");
        IOException e = assertThrows(
                IOException.class, () -> Download.fetch(r.withMirrors(List.of(base + "/bad/")), dir, null));
        assertTrue(e.getMessage().contains("nor does its decompressed content"), e.getMessage());
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count(), "nothing left in the cache");
        }
    }

    @Test
    void theMirrorSettingServesRealMnistIntoAnEmptyFolder() throws Exception {
        Path real = RealData.dir("mnist");
        for (Download.Resource r : Download.MNIST) {
            files.put("/corp/mnist/" + r.file(), Files.readAllBytes(real.resolve(r.file())));
        }
        System.setProperty("gradus.datasets.mirror", base + "/corp");
        try {
            Path empty = tmp.resolve("fresh");
            Mnist.Splits m = Mnist.load(empty, true);
            assertEquals(60_000, m.train().size());
            assertEquals(10_000, m.test().size());
            for (Download.Resource r : Download.MNIST) {
                assertTrue(Files.isRegularFile(empty.resolve(r.file())), r.file());
            }
            assertEquals(
                    List.of(base + "/corp/mnist/"),
                    Download.forDataset("mnist", Download.MNIST).get(0).mirrors());
        } finally {
            System.clearProperty("gradus.datasets.mirror");
        }
        assertEquals(Download.MNIST, Download.forDataset("mnist", Download.MNIST), "no mirror: the public ones");
    }

    @Test
    void offlineModeSaysInOneLineWhereItLookedAndHowToGetTheFiles() {
        System.setProperty("gradus.offline", "true");
        try {
            Path missing = tmp.resolve("none");
            FileNotFoundException e = assertThrows(FileNotFoundException.class, () -> Mnist.load(missing, true));
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(
                    e.getMessage().contains("offline")
                            && e.getMessage().contains(missing.toString())
                            && e.getMessage().contains("GRADUS_DATASETS_MIRROR"),
                    e.getMessage());
            assertFalse(Files.exists(missing), "nothing was created");
        } finally {
            System.clearProperty("gradus.offline");
        }
    }
}
