package dev.gradus.spark;

import org.apache.spark.sql.SparkSession;

/**
 * The session the commands run in: {@code --master} when given, else what {@code spark-submit} set, else
 * {@code local[workers]}; Spark's console logging at WARN. In local mode the workers are threads of one JVM, so
 * each gets {@code cores / workers} kernel threads ({@code gradus.threads}) unless that is set already.
 *
 * <pre>{@code SparkSession spark = SparkSessions.open("gradus-train", "local[2]", 2);}</pre>
 */
final class SparkSessions {
    private SparkSessions() {}

    static SparkSession open(String app, String master, int workers) {
        String m = master != null ? master : System.getProperty("spark.master", "local[" + workers + "]");
        if (m.startsWith("local") && System.getProperty("gradus.threads") == null) {
            // The workers are threads of this JVM: share the cores out instead of each taking all of them.
            int cores = Runtime.getRuntime().availableProcessors();
            System.setProperty("gradus.threads", Integer.toString(Math.max(1, cores / workers)));
        }
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
