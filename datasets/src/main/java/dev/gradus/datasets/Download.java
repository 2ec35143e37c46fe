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
import java.util.zip.GZIPInputStream;

/**
 * Fetches a file from the first mirror that serves it, checks its SHA-256, and moves it into place atomically, so a
 * cache never holds a partial or corrupt file.
 *
 * <p>{@code GRADUS_DATASETS_MIRROR=<base URL>} (or {@code -Dgradus.datasets.mirror}) replaces the public mirrors:
 * data set {@code name}'s files come from {@code <base>/<name>/<file>}. A mirror may re-compress the files: a
 * {@code .gz} whose own checksum differs is accepted when its decompressed content has the known checksum.
 * {@code GRADUS_OFFLINE=1} (or {@code -Dgradus.offline=true}) forbids downloading.
 *
 * <pre>{@code
 * Download.fetch(new Download.Resource("train-labels-idx1-ubyte.gz", "3552...255c", List.of(mirror)), dir, System.err);
 * }</pre>
 */
public final class Download {
    private Download() {}

    /**
     * One file: its name, expected SHA-256 (lower-case hex), the SHA-256 of its decompressed content for a
     * {@code .gz} (or null), and base URLs that serve it.
     */
    public record Resource(String file, String sha256, String contentSha256, List<String> mirrors) {
        /** A file checked by its own SHA-256 only. */
        public Resource(String file, String sha256, List<String> mirrors) {
            this(file, sha256, null, mirrors);
        }

        /** This file served from {@code mirrors} instead. */
        public Resource withMirrors(List<String> mirrors) {
            return new Resource(file, sha256, contentSha256, mirrors);
        }
    }

    /** The mirror base URL from {@code -Dgradus.datasets.mirror} or {@code GRADUS_DATASETS_MIRROR}, or null. */
    public static String mirrorBase() {
        String v = System.getProperty("gradus.datasets.mirror");
        if (v == null || v.isBlank()) {
            v = System.getenv("GRADUS_DATASETS_MIRROR");
        }
        return v == null || v.isBlank() ? null : v.trim();
    }

    /** True when {@code -Dgradus.offline=true} or {@code GRADUS_OFFLINE=1} (or {@code true}) forbids the network. */
    public static boolean offline() {
        String v = System.getProperty("gradus.offline");
        if (v == null) {
            v = System.getenv("GRADUS_OFFLINE");
        }
        return v != null && (v.equals("1") || v.equalsIgnoreCase("true"));
    }

    /** {@code resources} of data set {@code name} as served now: from the {@link #mirrorBase} when one is set. */
    public static List<Resource> forDataset(String name, List<Resource> resources) {
        String base = mirrorBase();
        if (base == null) {
            return resources;
        }
        String url = (base.endsWith("/") ? base : base + "/") + name + "/";
        List<Resource> out = new ArrayList<>();
        for (Resource r : resources) {
            out.add(r.withMirrors(List.of(url)));
        }
        return List.copyOf(out);
    }

    /** MNIST from the mirrors torchvision uses. */
    public static final List<Resource> MNIST = resources(
            List.of(
                    "https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/"),
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2");

    /** Fashion-MNIST from Zalando's mirror. */
    public static final List<Resource> FASHION_MNIST = resources(
            List.of(
                    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"),
            "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34");

    /** Triples of file name, SHA-256 of the file, SHA-256 of its decompressed content. */
    private static List<Resource> resources(List<String> mirrors, String... fileAndHashes) {
        List<Resource> out = new ArrayList<>();
        for (int i = 0; i < fileAndHashes.length; i += 3) {
            out.add(new Resource(fileAndHashes[i], fileAndHashes[i + 1], fileAndHashes[i + 2], mirrors));
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
                if (!sha.equalsIgnoreCase(r.sha256()) && !contentMatches(r, tmp)) {
                    failures.add(url + ": SHA-256 " + sha + " does not match the expected " + r.sha256()
                            + (r.contentSha256() == null ? "" : " (nor does its decompressed content)"));
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

    /** True when {@code r} is a {@code .gz} whose decompressed bytes in {@code file} have the known SHA-256. */
    private static boolean contentMatches(Resource r, Path file) {
        if (r.contentSha256() == null || !r.file().endsWith(".gz")) {
            return false;
        }
        MessageDigest sha = sha256();
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        } catch (IOException e) {
            return false; // not gzip, or truncated: it is not the file
        }
        return HexFormat.of().formatHex(sha.digest()).equalsIgnoreCase(r.contentSha256());
    }

    /** The file name part of {@code url}, for the progress bar. */
    private static String fileName(String url) {
        return url.substring(url.lastIndexOf('/') + 1);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String copy(String url, Path tmp, PrintStream progress) throws IOException {
        URLConnection c = URI.create(url).toURL().openConnection();
        c.setConnectTimeout(15_000);
        c.setReadTimeout(60_000);
        if (c instanceof HttpURLConnection h && h.getResponseCode() >= 400) {
            throw new IOException("HTTP " + h.getResponseCode());
        }
        long total = c.getContentLengthLong();
        MessageDigest sha = sha256();
        boolean bar = progress != null && progress == System.err && System.console() != null;
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
                if (bar && pct != lastPct) {
                    // a terminal: one line redrawn in place
                    int filled = Math.max(0, pct) * 30 / 100;
                    progress.printf(
                            "\r%-28s [%s%s] %3d%% of %,d bytes",
                            fileName(url), "#".repeat(filled), " ".repeat(30 - filled), Math.max(0, pct), total);
                    lastPct = pct;
                } else if (!bar && progress != null && pct / 10 != lastPct / 10) {
                    progress.printf("downloading %s: %d%% of %d bytes%n", url, pct, total);
                    lastPct = pct;
                }
            }
        }
        if (bar) {
            progress.println();
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
