package dev.gradus.spark;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

/** Test helpers: MNIST from {@code $GRADUS_DATA} (skipped without it, failed when {@code CI} is set), a local session. */
final class TestData {
    private TestData() {}

    /** Whether MNIST is there (a class's one-time setup starts Spark only then; each test calls {@link #mnistDir}). */
    static boolean mnistPresent() {
        String env = System.getenv("GRADUS_DATA");
        return env != null && !env.isBlank() && Files.isDirectory(Path.of(env, "mnist"));
    }

    static Path mnistDir() {
        String env = System.getenv("GRADUS_DATA");
        Path dir = env == null || env.isBlank() ? null : Path.of(env, "mnist");
        if (dir == null || !Files.isDirectory(dir)) {
            if (System.getenv("CI") != null) {
                fail("MNIST not found under GRADUS_DATA=" + env + " (CI is set, so this is a failure)");
            }
            assumeTrue(false, "MNIST not found under GRADUS_DATA=" + env);
        }
        return dir;
    }

    /** Spark in this JVM with two task threads, its UI off. */
    static SparkSession local2() {
        SparkSession spark = SparkSession.builder()
                .appName("gradus-spark-test")
                .master("local[2]")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        return spark;
    }
}
