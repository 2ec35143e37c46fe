package dev.gradus.spark;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.deploy.master.Master;
import org.apache.spark.deploy.worker.Worker;
import org.apache.spark.launcher.JavaModuleOptions;

/**
 * Test helper: a Spark standalone master and one worker, each a JVM of its own on 127.0.0.1 (ephemeral ports),
 * started from the test JVM in a temporary {@code SPARK_HOME} under {@code dir}; the worker launches the
 * executors as its own child JVMs. Everything they write stays under {@code dir}; {@link #close()} kills them all.
 *
 * <p>The worker builds an executor's class path with Spark's launcher ({@code WorkerCommandBuilder}):
 * {@code spark.executor.extraClassPath}, then {@code SPARK_HOME/conf}, then {@code SPARK_HOME/jars/*}; the launcher
 * also insists on {@code SPARK_SCALA_VERSION} (or a Spark build tree) and an existing {@code jars/}. Here
 * {@code jars/} holds links to the test class path's jars, and {@link #executorClassPath()} names its folders (the
 * modules' {@code classes/} and {@code test-classes/}), which the driver passes as {@code extraClassPath}.
 *
 * <pre>{@code
 * try (StandaloneCluster c = StandaloneCluster.start(dir, 2, "1g", Duration.ofSeconds(90))) {
 *     SparkSession s = SparkSession.builder().master(c.masterUrl())
 *             .config("spark.executor.extraClassPath", c.executorClassPath()).getOrCreate();
 * }
 * }</pre>
 */
final class StandaloneCluster implements AutoCloseable {
    private static final Pattern MASTER_URL = Pattern.compile("Starting Spark master at (spark://[\\w.]+:\\d+)");
    private static final Pattern REGISTERED = Pattern.compile("Successfully registered with master");

    private final Path dir;
    private final Path home;
    private final String executorClassPath;
    private final List<Process> daemons = new ArrayList<>();
    private final Thread hook = new Thread(this::kill, "standalone-cluster-kill");
    private String masterUrl;
    private Process worker;

    private StandaloneCluster(Path dir, Path home, String executorClassPath) {
        this.dir = dir;
        this.home = home;
        this.executorClassPath = executorClassPath;
    }

    /**
     * Starts the master, then a worker offering {@code cores} cores and {@code memory} (Spark's size syntax) to
     * executors, and waits up to {@code timeout} for the worker to register.
     *
     * @throws IllegalStateException with the daemon's log when one exits or does not come up in time
     */
    static StandaloneCluster start(Path dir, int cores, String memory, Duration timeout)
            throws IOException, InterruptedException {
        Path home = Files.createDirectories(dir.resolve("spark-home"));
        Path jars = Files.createDirectories(home.resolve("jars"));
        Path conf = Files.createDirectories(home.resolve("conf"));
        Files.createDirectories(dir.resolve("tmp"));
        Files.createDirectories(dir.resolve("local"));
        Files.createDirectories(dir.resolve("work"));
        Files.createDirectories(dir.resolve("logs"));
        // The daemons' own log: warnings, and the deploy package's INFO lines this class waits for.
        Files.writeString(
                conf.resolve("log4j2.properties"),
                String.join(
                        "\n",
                        "rootLogger.level = warn",
                        "rootLogger.appenderRef.stderr.ref = console",
                        "appender.console.type = Console",
                        "appender.console.name = console",
                        "appender.console.target = SYSTEM_ERR",
                        "appender.console.layout.type = PatternLayout",
                        "appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n",
                        "logger.deploy.name = org.apache.spark.deploy",
                        "logger.deploy.level = info",
                        ""),
                StandardCharsets.UTF_8);
        List<String> folders = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry).toAbsolutePath();
            if (Files.isDirectory(p)) {
                folders.add(p.toString());
            } else if (Files.isRegularFile(p) && p.getFileName().toString().endsWith(".jar")) {
                Path link = jars.resolve(p.getFileName());
                for (int i = 1; Files.exists(link, LinkOption.NOFOLLOW_LINKS); i++) {
                    link = jars.resolve(i + "-" + p.getFileName());
                }
                Files.createSymbolicLink(link, p);
            }
        }
        StandaloneCluster c = new StandaloneCluster(dir, home, String.join(File.pathSeparator, folders));
        Runtime.getRuntime().addShutdownHook(c.hook); // should the test JVM end before close()
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            Process master = c.daemon(
                    "master", Master.class.getName(), "--host", "127.0.0.1", "--port", "0", "--webui-port", "0");
            c.masterUrl = c.await("master", master, MASTER_URL, deadline).group(1);
            c.worker = c.daemon(
                    "worker",
                    Worker.class.getName(),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--webui-port",
                    "0",
                    "--cores",
                    Integer.toString(cores),
                    "--memory",
                    memory,
                    "--work-dir",
                    dir.resolve("work").toString(),
                    c.masterUrl);
            c.await("worker", c.worker, REGISTERED, deadline);
            return c;
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The master's URL, {@code spark://127.0.0.1:PORT}. */
    String masterUrl() {
        return masterUrl;
    }

    /** The folders of the test class path, for {@code spark.executor.extraClassPath} (its jars are in jars/). */
    String executorClassPath() {
        return executorClassPath;
    }

    /** The worker daemon's process id. */
    long workerPid() {
        return worker.pid();
    }

    /** The executors the worker has launched and that still run: executor id to process id. */
    Map<String, Long> executorPids() {
        Map<String, Long> out = new TreeMap<>();
        worker.toHandle().children().forEach(child -> {
            String[] args = child.info().arguments().orElse(new String[0]);
            for (int i = 0; i + 1 < args.length; i++) {
                if (args[i].equals("--executor-id")) {
                    out.put(args[i + 1], child.pid());
                }
            }
        });
        return out;
    }

    /** The last {@code lines} lines of the master's, the worker's and every executor's log, for a failure's message. */
    String logs(int lines) {
        StringBuilder b = new StringBuilder();
        List<Path> files = new ArrayList<>();
        files.add(dir.resolve("logs/master.log"));
        files.add(dir.resolve("logs/worker.log"));
        try (Stream<Path> s = Files.walk(dir.resolve("work"))) {
            s.filter(p -> p.getFileName().toString().equals("stderr")).sorted().forEach(files::add);
        } catch (IOException e) {
            b.append("(cannot list the executors' logs: ").append(e).append(")\n");
        }
        for (Path f : files) {
            b.append("--- ").append(dir.relativize(f)).append('\n');
            try {
                List<String> all = Files.readAllLines(f, StandardCharsets.UTF_8);
                all.subList(Math.max(0, all.size() - lines), all.size())
                        .forEach(l -> b.append(l).append('\n'));
            } catch (IOException e) {
                b.append("(unreadable: ").append(e).append(")\n");
            }
        }
        return b.toString();
    }

    /** A daemon JVM as Spark's {@code spark-class} would start it, its output in {@code logs/name.log}. */
    private Process daemon(String name, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("-Xmx256m");
        // They only pass messages: a serial collector and the quick compiler leave the two cores to the executors.
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.addAll(Arrays.asList(JavaModuleOptions.defaultModuleOptionArray())); // what spark-class adds on JDK 17
        cmd.add("-Djava.io.tmpdir=" + dir.resolve("tmp"));
        cmd.add("-Dlog4j2.configurationFile=" + home.resolve("conf/log4j2.properties"));
        cmd.add("-cp");
        cmd.add(home.resolve("jars") + File.separator + "*");
        cmd.add(mainClass);
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("logs/" + name + ".log").toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("SPARK_") || k.equals("HADOOP_CONF_DIR") || k.equals("YARN_CONF_DIR"));
        env.put("SPARK_HOME", home.toString());
        env.put("SPARK_SCALA_VERSION", "2.13"); // else the launcher looks for a build tree and fails
        env.put("SPARK_LOCAL_DIRS", dir.resolve("local").toString());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        daemons.add(p);
        return p;
    }

    /** Waits until {@code name}'s log matches {@code pattern}. */
    private Matcher await(String name, Process p, Pattern pattern, long deadline) throws InterruptedException {
        Path log = dir.resolve("logs/" + name + ".log");
        while (true) {
            String text;
            try {
                text = Files.readString(log, StandardCharsets.UTF_8);
            } catch (IOException e) {
                text = "";
            }
            Matcher m = pattern.matcher(text);
            if (m.find()) {
                return m;
            }
            if (!p.isAlive()) {
                throw new IllegalStateException(
                        "spark " + name + " exited with " + p.exitValue() + " before '" + pattern + "':\n" + text);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("spark " + name + ": no '" + pattern + "' in time:\n" + text);
            }
            Thread.sleep(100);
        }
    }

    /** Kills the worker, the executors it launched, and the master, and waits for them to end. */
    @Override
    public void close() {
        kill();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs or has run
        }
    }

    private void kill() {
        List<ProcessHandle> all = new ArrayList<>();
        for (Process d : daemons) {
            all.add(d.toHandle());
            d.toHandle().descendants().forEach(all::add); // the executors, before their worker goes
        }
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("StandaloneCluster: process " + h.pid() + " did not end: " + e);
            }
        }
    }
}
