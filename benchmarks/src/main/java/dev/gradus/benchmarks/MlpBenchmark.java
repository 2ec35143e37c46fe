package dev.gradus.benchmarks;

import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.Mnist;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
import dev.gradus.train.Training;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Flux MNIST MLP (784-48-10, Adam) at batch 128: one training step, and one whole epoch over the real
 * training set (469 steps) as the examples' {@code mlp} runs it.
 *
 * <p>Needs MNIST under {@code $GRADUS_DATA/mnist} for {@code epoch}; {@code step} uses random data.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@Fork(1)
public class MlpBenchmark {
    private Backend backend;
    private Sequential model;
    private Adam opt;
    private Tensor x;
    private Tensor y;
    private DataLoader loader;

    @Setup
    public void setup() throws IOException {
        backend = Backends.defaultBackend();
        Rng rng = new Rng(42);
        model = new Sequential(
                new Dense(backend, 784, 48, true, Init.GLOROT, rng),
                new ReLU(),
                new Dense(backend, 48, 10, true, Init.GLOROT, rng));
        opt = new Adam(model.parameters(), Adam.Config.lr(0.01f));
        x = Tensor.uniform(rng, 0, 1, 128, 784);
        int[] labels = new int[128];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % 10;
        }
        y = Tensor.ofInts(backend, labels, 128);
        String data = System.getenv("GRADUS_DATA");
        if (data != null) {
            Dataset train = Mnist.load(Path.of(data, "mnist")).train();
            loader = new DataLoader(train, 128).shuffle(1).flatten(true);
        }
    }

    @TearDown
    public void tearDown() {
        opt.close();
        model.close();
        x.close();
        y.close();
    }

    /** Forward, backward and Adam update of one batch of 128. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Warmup(iterations = 3, time = 2)
    @Measurement(iterations = 5, time = 2)
    public float step() {
        try (Scope s = Scope.open()) {
            return Training.step(model, opt, x, y).item();
        }
    }

    /** One epoch over the 60,000 MNIST training images, data loading and shuffling included. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 3)
    @Measurement(iterations = 5)
    public float epoch() {
        if (loader == null) {
            throw new IllegalStateException("MlpBenchmark.epoch needs MNIST: set GRADUS_DATA");
        }
        float last = 0;
        for (DataLoader.Batch b : loader.epoch(backend)) {
            try (b;
                    Scope s = Scope.open()) {
                last = Training.step(model, opt, b.x(), b.y()).item();
            }
        }
        return last;
    }
}
