package dev.gradus.spark;

import org.apache.spark.sql.SparkSession;

/**
 * The session the commands run in: {@code --master} when given, else what {@code spark-submit} set, else
 * {@code local[workers]}; Spark's console logging at WARN.
 *
 * <pre>{@code SparkSession spark = SparkSessions.open("gradus-train", "local[2]", 2);}</pre>
 */
final class SparkSessions {
    private SparkSessions() {}

    static SparkSession open(String app, String master, int workers) {
        SparkSession.Builder b = SparkSession.builder().appName(app);
        if (master != null) {
            b.master(master);
        } else if (System.getProperty("spark.master") == null) {
            b.master("local[" + workers + "]");
        }
        SparkSession spark = b.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        return spark;
    }
}
