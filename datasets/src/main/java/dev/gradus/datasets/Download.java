package dev.gradus.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Fetches a file from the first mirror that serves it, checks its SHA-256, and moves it into place atomically, so a
 * cache never holds a partial or corrupt file.
 *
 * <pre>{@code
 * Download.fetch(new Download.Resource("train-labels-idx1-ubyte.gz", "3552...255c", List.of(mirror)), dir, System.err);
 * }</pre>
 */
public final class Download {
    private Download() {}

    /** One file: its name, expected SHA-256 (lower-case hex) and base URLs that serve it. */
    public record Resource(String file, String sha256, List<String> mirrors) {}

    /** MNIST from the mirrors torchvision uses. */
    public static final List<Resource> MNIST = resources(
            List.of(
                    "https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/"),
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6");

    /** Fashion-MNIST from Zalando's mirror. */
    public static final List<Resource> FASHION_MNIST = resources(
            List.of(
                    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"),
            "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5");

    private static List<Resource> resources(List<String> mirrors, String... fileAndHash) {
        List<Resource> out = new ArrayList<>();
        for (int i = 0; i < fileAndHash.length; i += 2) {
            out.add(new Resource(fileAndHash[i], fileAndHash[i + 1], mirrors));
        }
        return List.copyOf(out);
    }

    /** Fetches every resource missing from {@code dir}. */
    public static void fetchAll(List<Resource> resources, Path dir, PrintStream progress) throws IOException {
        for (Resource r : resources) {
            if (!Files.isRegularFile(dir.resolve(r.file()))) {
                fetch(r, dir, progress);
            }
        }
    }

    /**
     * Downloads {@code r} into {@code dir}, trying each mirror in turn.
     *
     * @throws IOException naming every mirror tried and why it failed (including a checksum mismatch)
     */
    public static Path fetch(Resource r, Path dir, PrintStream progress) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve(r.file());
        List<String> failures = new ArrayList<>();
        for (String mirror : r.mirrors()) {
            String url = mirror + r.file();
            Path tmp = Files.createTempFile(dir, r.file(), ".part");
            try {
                String sha = copy(url, tmp, progress);
                if (!sha.equalsIgnoreCase(r.sha256())) {
                    failures.add(url + ": SHA-256 " + sha + " does not match the expected " + r.sha256());
                    continue;
                }
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
                return target;
            } catch (IOException e) {
                failures.add(url + ": " + e);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        throw new IOException(
                "could not download " + r.file() + " into " + dir + ":\n  " + String.join("\n  ", failures));
    }

    private static String copy(String url, Path tmp, PrintStream progress) throws IOException {
        URLConnection c = URI.create(url).toURL().openConnection();
        c.setConnectTimeout(15_000);
        c.setReadTimeout(60_000);
        if (c instanceof HttpURLConnection h && h.getResponseCode() >= 400) {
            throw new IOException("HTTP " + h.getResponseCode());
        }
        long total = c.getContentLengthLong();
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = c.getInputStream();
                OutputStream out = Files.newOutputStream(tmp)) {
            byte[] buf = new byte[1 << 16];
            long done = 0;
            int lastPct = -1;
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                sha.update(buf, 0, n);
                done += n;
                int pct = total > 0 ? (int) (100 * done / total) : -1;
                if (progress != null && pct / 10 != lastPct / 10) {
                    progress.printf("downloading %s: %d%% of %d bytes%n", url, pct, total);
                    lastPct = pct;
                }
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
