package dev.gradus.spark;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * A test class on MNIST with a {@code local[2]} Spark session: started once for the class when MNIST is there,
 * stopped after it; each test is skipped, with the reason, when MNIST is missing.
 */
abstract class LocalSparkTest {
    /** The class's session; null when MNIST is missing. */
    protected static SparkSession spark;

    @BeforeAll
    static void startSpark() {
        if (TestData.mnistPresent()) {
            spark = TestData.local2();
        }
    }

    /** Skips each test with the reason when MNIST is missing (a skip in the class setup shows no reason). */
    @BeforeEach
    void needsData() {
        TestData.mnistDir();
    }

    @AfterAll
    static void stopSpark() {
        if (spark != null) {
            spark.stop();
            spark = null;
        }
    }
}
