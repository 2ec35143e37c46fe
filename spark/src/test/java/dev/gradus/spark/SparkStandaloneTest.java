package dev.gradus.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradus.Backends;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.Idx;
import dev.gradus.datasets.Mnist;
import dev.gradus.examples.Models;
import dev.gradus.examples.PredictCommand;
import dev.gradus.nn.FlatParameters;
import dev.gradus.nn.Module;
import dev.gradus.spark.allreduce.Ring;
import dev.gradus.spark.allreduce.RingAllReduce;
import dev.gradus.spi.Backend;
import dev.gradus.train.Evaluation;
import java.io.DataOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/**
 * Spark as a cluster runs it: a standalone master and worker started as JVMs of their own on the loopback
 * ({@link StandaloneCluster}), two one-core executors the worker launches as its children, the driver in this JVM.
 * The examples' {@code mlp} is trained by two data-parallel workers in a barrier stage, one in each executor, so
 * the ring all-reduce runs between two processes, and the model scores the MNIST test set as a Spark data set
 * there too. Skipped without {@code $GRADUS_DATA/mnist}.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class SparkStandaloneTest {
    /** Training images, the first of MNIST's training set: 2,048 a worker, 32 steps of 64 an epoch. */
    private static final int TRAIN = 4096;

    private static final int EPOCHS = 2;

    /** Test images scored on the executors. */
    private static final int SCORED = 2000;

    @TempDir
    static Path dir;

    private static StandaloneCluster cluster;
    private static SparkSession spark;
    private static final Tasks TASKS = new Tasks();
    private static SparkTraining.Outcome trained;
    private static Mnist.Splits mnist;
    private static Path model;

    /** Why the tests skip (no MNIST), or null. */
    private static String skipped;

    @BeforeAll
    static void start() throws Exception {
        try {
            TestData.mnistDir();
        } catch (TestAbortedException e) {
            // Skipped here, the class would just vanish from Surefire's counts: skip each test with the reason.
            skipped = e.getMessage().replaceFirst("^Assumption failed: ", "");
            System.err.println("SparkStandaloneTest skipped: " + skipped);
            return;
        }
        Backends.defaultBackend(); // native libraries unpacked here before two executors look for them at once
        long t0 = System.nanoTime();
        cluster = StandaloneCluster.start(dir, 2, "1g", Duration.ofSeconds(90));
        System.out.printf("standalone: master and worker up in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        try {
            spark = SparkSession.builder()
                    .appName("gradus-standalone-test")
                    .master(cluster.masterUrl())
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config(
                            "spark.local.dir",
                            Files.createDirectories(dir.resolve("driver")).toString())
                    // Two executors of one core (one worker of the barrier stage each), as small as Spark allows.
                    .config("spark.executor.cores", "1")
                    .config("spark.cores.max", "2")
                    .config("spark.executor.memory", "512m")
                    .config("spark.executor.extraClassPath", cluster.executorClassPath())
                    // SparkContext puts Spark's --add-opens list in front of these itself.
                    .config(
                            "spark.executor.extraJavaOptions",
                            "-Dgradus.threads=1 -Djava.io.tmpdir=" + dir.resolve("tmp"))
                    .getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
            assertEquals(cluster.masterUrl(), spark.sparkContext().master(), "a session from another test was reused");
            spark.sparkContext().addSparkListener(TASKS);
            awaitExecutors(2, Duration.ofSeconds(90));
            System.out.printf("standalone: 2 executors up after %.1f s%n", (System.nanoTime() - t0) / 1e9);
        } catch (Throwable e) {
            System.err.println(cluster.logs(40));
            throw e;
        }
    }

    @AfterAll
    static void stop() {
        try {
            if (spark != null) {
                spark.stop();
            }
        } finally {
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    @BeforeEach
    void needsMnist() {
        assumeTrue(skipped == null, skipped);
    }

    /** Waits until {@code n} executors have registered with the driver and run as the worker's children. */
    private static void awaitExecutors(int n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (spark.sparkContext().statusTracker().getExecutorInfos().length < n + 1 // and the driver
                || cluster.executorPids().size() < n) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        n + " executors did not come up in " + timeout + ":\n" + cluster.logs(40));
            }
            Thread.sleep(200);
        }
    }

    /** The tasks that ended, from the listener bus: which executor ran each, in which stage. */
    static final class Tasks extends SparkListener {
        record Run(int stage, String executor, boolean ok) {}

        private final List<Run> runs = new ArrayList<>();

        @Override
        public synchronized void onTaskEnd(SparkListenerTaskEnd e) {
            runs.add(
                    new Run(e.stageId(), e.taskInfo().executorId(), e.taskInfo().successful()));
        }

        synchronized void clear() {
            runs.clear();
        }

        /** The first {@code n} task ends since {@link #clear()} (the bus delivers them a little after the job). */
        List<Run> await(int n) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                synchronized (this) {
                    if (runs.size() >= n || System.nanoTime() > deadline) {
                        return List.copyOf(runs);
                    }
                }
                Thread.sleep(50);
            }
        }
    }

    private static synchronized Mnist.Splits mnist() throws Exception {
        if (mnist == null) {
            mnist = Mnist.load(TestData.mnistDir(), false);
        }
        return mnist;
    }

    /** The mlp trained on the cluster once, its model also written to {@code dir/mlp.safetensors}. */
    private static synchronized SparkTraining.Outcome trained() throws Exception {
        if (trained == null) {
            Dataset train = mnist().train().subset(0, TRAIN);
            WorkerConfig c = WorkerConfig.mlp(48, 2).withEpochs(EPOCHS).withTimeout(30_000);
            JavaRDD<Row> rows =
                    JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(Rows.labeled(train), 2);
            TASKS.clear();
            long t0 = System.nanoTime();
            trained = SparkTraining.fit(rows, new int[] {1, 28, 28}, 10, c, 1, System.out);
            System.out.printf(
                    "standalone: %d images, %d epochs on 2 executors in %.1f s; losses %s%n",
                    TRAIN, EPOCHS, (System.nanoTime() - t0) / 1e9, trained.epochLoss());
            model = dir.resolve("mlp.safetensors");
            Files.write(model, trained.model());
        }
        return trained;
    }

    @Test
    void twoExecutorProcessesTrainTheMlpInABarrierStageExactlyAsTwoThreadsDo() throws Exception {
        try {
            SparkTraining.Outcome o = trained();
            List<Tasks.Run> runs = TASKS.await(2);

            // Where the workers ran: two tasks of one stage, on two executors, each a process of its own that the
            // worker daemon launched; neither is this JVM (the driver).
            Map<String, Long> pids = cluster.executorPids();
            assertEquals(2, runs.size(), "tasks of the training job: " + runs);
            assertEquals(runs.get(0).stage(), runs.get(1).stage(), "one barrier stage: " + runs);
            assertTrue(runs.get(0).ok() && runs.get(1).ok(), runs.toString());
            assertNotEquals(runs.get(0).executor(), runs.get(1).executor(), "one worker per executor: " + runs);
            long driver = ProcessHandle.current().pid();
            Set<Long> seen = new HashSet<>();
            for (Tasks.Run r : runs) {
                Long pid = pids.get(r.executor());
                assertTrue(pid != null, "executor " + r.executor() + " is none of the worker's children " + pids);
                assertNotEquals(driver, pid.longValue(), "executor " + r.executor() + " is the driver's JVM");
                assertEquals(
                        cluster.workerPid(),
                        ProcessHandle.of(pid)
                                .flatMap(ProcessHandle::parent)
                                .map(ProcessHandle::pid)
                                .orElse(-1L),
                        "executor " + r.executor() + "'s parent");
                seen.add(pid);
            }
            assertEquals(2, seen.size(), "two executor processes: " + pids);
            System.out.printf(
                    "standalone: driver pid %d, worker pid %d, executors %s, training tasks %s%n",
                    driver, cluster.workerPid(), pids, runs);

            // What they computed: every step on both, a falling loss, a sane model.
            int steps = EPOCHS * (TRAIN / 2 / 64);
            assertEquals(1, o.attempts(), o.failures().toString());
            assertEquals(2, o.workers().size());
            assertEquals(steps, o.workers().get(0).steps());
            assertEquals(steps, o.workers().get(1).steps());
            List<Double> loss = o.epochLoss();
            assertTrue(loss.get(EPOCHS - 1) < loss.get(0), "the loss falls: " + loss);
            assertTrue(loss.get(EPOCHS - 1) < 0.6, "a learning model's loss: " + loss);
            Backend cpu = Backends.defaultBackend();
            double accuracy;
            try (Module m = Models.load(model, cpu).model()) {
                Dataset test = mnist().test();
                accuracy =
                        Evaluation.evaluate(m, new DataLoader(test, 1000), cpu).accuracy();
            }
            System.out.printf("standalone: test accuracy %.2f%%%n", accuracy * 100);
            assertTrue(accuracy > 0.85, "test accuracy " + accuracy);

            // And what two threads of this JVM compute from the same shards (Spark's two slices of the rows): the
            // same steps, the same sums in the same ring order, so the same parameters to the bit. (Not the same
            // file: the metadata's order in the header comes from a Map.of, whose order differs between JVMs.)
            assertArrayEquals(
                    parameters(inThisJvm()),
                    parameters(o.model()),
                    "the executors' parameters differ from two threads' parameters");
        } catch (Throwable e) {
            System.err.println(cluster.logs(40));
            throw e;
        }
    }

    /** Rank 0's model from the same training run on two threads of this JVM, joined by the same ring all-reduce. */
    private static byte[] inThisJvm() throws Exception {
        Dataset train = mnist().train().subset(0, TRAIN);
        WorkerConfig c = WorkerConfig.mlp(48, 2).withEpochs(EPOCHS).withTimeout(30_000);
        int half = TRAIN / 2;
        List<WorkerResult> r = Ring.run(2, RingAllReduce.DEFAULT_BUCKET, Duration.ofSeconds(30), comm -> {
            Dataset shard = train.subset(comm.rank() * half, (comm.rank() + 1) * half);
            return WorkerLoop.run(c, shard, half / c.workerBatch(), comm);
        });
        return r.get(0).model();
    }

    /** A saved model's parameters, flat. */
    private static float[] parameters(byte[] safetensors) throws Exception {
        Path f = Files.createTempFile(dir, "model", ".safetensors");
        Files.write(f, safetensors);
        try (Module m = Models.load(f, Backends.defaultBackend()).model()) {
            return FlatParameters.values(m.parameters());
        }
    }

    /** The first {@code n} images of MNIST's test set, as an IDX file of their own. */
    private static Path testImages(int n) throws Exception {
        Idx.Array all = Idx.read(TestData.mnistDir().resolve("t10k-images-idx3-ubyte.gz"));
        Path f = dir.resolve("t" + n + "-images-idx3-ubyte");
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(f))) {
            out.writeInt(0x0803); // unsigned bytes, three dimensions
            out.writeInt(n);
            out.writeInt(all.dims()[1]);
            out.writeInt(all.dims()[2]);
            out.write(all.data(), 0, n * all.dims()[1] * all.dims()[2]);
        }
        return f;
    }

    @Test
    void theExecutorsScoreTheTestSetAsThisJvmDoes() throws Exception {
        try {
            trained();
            Path images = testImages(SCORED);
            int[] local = PredictCommand.predict(model, images, dir.resolve("local-predict"), System.out);
            int loadedHere = ModelScorer.loadedModels();
            TASKS.clear();
            long t0 = System.nanoTime();
            int[] spread =
                    SparkPredictCommand.predict(spark, model, images, dir.resolve("spark-predict"), 2, System.out);
            System.out.printf(
                    "standalone: %d images scored on 2 executors in %.1f s%n", SCORED, (System.nanoTime() - t0) / 1e9);

            assertEquals(SCORED, spread.length);
            assertArrayEquals(local, spread, "the executors' labels differ from predict's in this JVM");
            assertEquals(loadedHere, ModelScorer.loadedModels(), "the model was loaded in the driver's JVM");
            List<Tasks.Run> runs = TASKS.await(2);
            Map<String, Long> pids = cluster.executorPids();
            assertTrue(runs.size() >= 2, runs.toString());
            for (Tasks.Run r : runs) {
                assertTrue(r.ok(), runs.toString());
                assertTrue(pids.containsKey(r.executor()), "task on " + r.executor() + ", executors " + pids);
            }
            System.out.println("standalone: scoring tasks " + runs);
        } catch (Throwable e) {
            System.err.println(cluster.logs(40));
            throw e;
        }
    }

    /** Every task of a job reports its executor and process: the ids Spark reports, the processes the worker made. */
    @Test
    void eachTaskRunsInTheProcessOfItsExecutor() throws Exception {
        List<String> seen = JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(IntStream.range(0, 8).boxed().toList(), 8)
                .map(i -> SparkEnv.get().executorId() + " "
                        + ProcessHandle.current().pid())
                .collect();
        Map<String, Long> pids = cluster.executorPids();
        assertEquals(8, seen.size());
        for (String s : seen) {
            String[] p = s.split(" ");
            assertEquals(pids.get(p[0]), Long.valueOf(p[1]), "task on executor " + p[0] + "; executors " + pids);
            assertNotEquals(ProcessHandle.current().pid(), Long.parseLong(p[1]), "a task ran in the driver's JVM");
        }
        // The launcher gave each executor Spark's JDK 17 options (SparkContext adds them to extraJavaOptions).
        for (long pid : pids.values()) {
            List<String> args = List.of(ProcessHandle.of(pid)
                    .flatMap(h -> h.info().arguments())
                    .orElseThrow(() -> new AssertionError("executor " + pid + "'s command line is unreadable")));
            assertTrue(args.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), args.toString());
            assertTrue(args.contains("-Dgradus.threads=1"), args.toString());
        }
    }
}
