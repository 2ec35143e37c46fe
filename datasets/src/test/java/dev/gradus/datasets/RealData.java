package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The real data sets under {@code GRADUS_DATA}: missing data fails under CI and skips (visibly) elsewhere. */
final class RealData {
    private RealData() {}

    static Path dir(String name) {
        String env = System.getenv("GRADUS_DATA");
        Path dir = env == null || env.isBlank() ? null : Path.of(env, name);
        if (dir == null || !Files.isDirectory(dir)) {
            String why = "real data set '" + name + "' not found: GRADUS_DATA=" + env;
            if (System.getenv("CI") != null) {
                fail(why + " (CI is set, so this is a failure)");
            }
            assumeTrue(false, why);
        }
        return dir;
    }
}
