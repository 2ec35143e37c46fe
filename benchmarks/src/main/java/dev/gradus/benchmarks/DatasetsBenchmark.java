package dev.gradus.benchmarks;

import dev.gradus.Scope;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.KaggleDigits;
import dev.gradus.datasets.Mnist;
import dev.gradus.datasets.Normalize;
import dev.gradus.datasets.RandomAffine;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Data loading: the full MNIST (both splits, gzip IDX) into memory; a Kaggle-sized {@code train.csv} (42,000 rows,
 * written from MNIST) parsed; DataLoader batches of 128 per second with and without the notebook's augmentation.
 *
 * <p>Needs {@code GRADUS_DATA}. Run: {@code java -jar benchmarks/target/gradus-benchmarks.jar DatasetsBenchmark}.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
public class DatasetsBenchmark {
    private Path mnistDir;
    private Path csv;
    private Dataset train;
    private Backend backend;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        String data = System.getenv("GRADUS_DATA");
        if (data == null) {
            throw new IllegalStateException("DatasetsBenchmark needs GRADUS_DATA");
        }
        mnistDir = Path.of(data, "mnist");
        train = Mnist.load(mnistDir).train();
        csv = Files.createTempFile("kaggle-train", ".csv");
        KaggleDigits.writeTrain(csv, train.subset(0, 42000));
        backend = CpuBackendProvider.get();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        Files.deleteIfExists(csv);
    }

    /** Both MNIST splits from the gzip IDX files, checked and scaled to [0, 1]. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int loadMnist() throws IOException {
        return Mnist.load(mnistDir).train().size();
    }

    /** A 42,000-row Kaggle train.csv (785 columns). */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int parseKaggleCsv() throws IOException {
        return KaggleDigits.readTrain(csv).size();
    }

    /** One shuffled epoch of batches of 128 as tensors, no transform. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int loaderEpochPlain() {
        return epoch(new DataLoader(train, 128).shuffle(1));
    }

    /** The same with normalisation and RandomAffine(10, 0.1, 0.1, 0.1), prepared on a background thread. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int loaderEpochAugmented() {
        return epoch(new DataLoader(train, 128)
                .shuffle(1)
                .transform(new RandomAffine(10, 0.1f, 0.1f, 0.1f).andThen(Normalize.of(0.1307f, 0.3081f)), 2)
                .prefetch(2));
    }

    private int epoch(DataLoader loader) {
        int n = 0;
        for (DataLoader.Batch b : loader.epoch(backend)) {
            try (b;
                    Scope s = Scope.open()) {
                n += b.size();
            }
        }
        return n;
    }
}
