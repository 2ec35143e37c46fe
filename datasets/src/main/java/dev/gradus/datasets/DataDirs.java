package dev.gradus.datasets;

import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where data sets are looked for: an explicit directory (and nothing else when one is given), else {@code $GRADUS_DATA/<name>}, else
 * {@code ~/.gradus/datasets/<name>}.
 *
 * <pre>{@code Path dir = DataDirs.locate("mnist", null, "train-images-idx3-ubyte");}</pre>
 */
public final class DataDirs {
    private DataDirs() {}

    /** The candidate directories in search order; an explicit directory is the only candidate. */
    public static List<Path> candidates(String name, Path explicit) {
        List<Path> out = new ArrayList<>();
        if (explicit != null) {
            out.add(explicit);
            return out;
        }
        String env = System.getenv("GRADUS_DATA");
        if (env != null && !env.isBlank()) {
            out.add(Path.of(env, name));
        }
        out.add(cacheDir().resolve(name));
        return out;
    }

    /** The per-user cache, {@code ~/.gradus/datasets}. */
    public static Path cacheDir() {
        return Path.of(System.getProperty("user.home"), ".gradus", "datasets");
    }

    /**
     * The first candidate holding {@code probe} (with or without {@code .gz}).
     *
     * @throws FileNotFoundException listing every place looked and how to provide the data
     */
    public static Path locate(String name, Path explicit, String probe) throws FileNotFoundException {
        List<Path> looked = candidates(name, explicit);
        for (Path dir : looked) {
            if (Files.isRegularFile(dir.resolve(probe)) || Files.isRegularFile(dir.resolve(probe + ".gz"))) {
                return dir;
            }
        }
        throw notFound(name, explicit, probe, false);
    }

    /**
     * The one-line message for a data set found nowhere (so that it reads whole in a terminal and a log), saying
     * also, when {@code offline}, that downloading it was forbidden.
     */
    static FileNotFoundException notFound(String name, Path explicit, String probe, boolean offline) {
        List<String> places = new ArrayList<>();
        for (Path p : candidates(name, explicit)) {
            places.add(p.toAbsolutePath().toString());
        }
        Path home = explicit != null ? explicit : cacheDir().resolve(name);
        // Library terms only (the path argument, GRADUS_DATA, the mirror and offline settings): a program built on
        // Gradus has its own command line, so naming the examples' flags here would point its users nowhere.
        return new DataSetNotFoundException(
                name,
                offline,
                "The " + name + " data set was not found"
                        + (offline ? " and offline mode (GRADUS_OFFLINE, -Dgradus.offline) forbids downloading it" : "")
                        + " (looked for " + probe + "[.gz] in " + String.join(", ", places) + "): "
                        + (explicit != null
                                ? "put the files in " + home + ", or pass null as the path to use GRADUS_DATA or "
                                        + cacheDir()
                                : "pass its folder as the path argument, set GRADUS_DATA to a folder holding " + name
                                        + "/, or put the files in " + home)
                        + (offline
                                ? "; online, loading with download enabled fetches them from the public mirrors or "
                                        + "GRADUS_DATASETS_MIRROR/" + name + "/"
                                : "; loading with download enabled fetches them there from the public mirrors or "
                                        + "GRADUS_DATASETS_MIRROR/" + name + "/"));
    }

    /** {@code dir/file.gz} if present, else {@code dir/file}. */
    static Path resolve(Path dir, String file) {
        Path gz = dir.resolve(file + ".gz");
        return Files.isRegularFile(gz) ? gz : dir.resolve(file);
    }
}
