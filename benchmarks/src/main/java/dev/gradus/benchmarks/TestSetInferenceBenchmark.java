package dev.gradus.benchmarks;

import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.FashionMnist;
import dev.gradus.datasets.Mnist;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Test-set inference as the DJL + PyTorch harness in {@code ../shared/peers/djl} measures it, so the two figures
 * compare like with like: the 10,000 test images in 10 batches of 1000 built beforehand, then per pass an
 * eval-mode forward without a graph, argmax, the predictions read back and counted against the labels. The score
 * is images per second. (The examples' {@code eval_images_per_second} also loads each batch from the data set and
 * computes the test loss, so it is lower.)
 *
 * <p>Models as the examples build them, freshly initialised (the speed does not depend on the weights). Needs
 * {@code GRADUS_DATA} ({@code mnist/}, and {@code fashion-mnist/} for {@code fashion-mlp}).
 *
 * <pre>{@code GRADUS_DATA=../shared/datasets java -jar benchmarks/target/gradus-benchmarks.jar TestSetInferenceBenchmark}</pre>
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TestSetInferenceBenchmark {
    static final int IMAGES = 10_000;
    static final int BATCH = 1000;

    /** {@code mlp} is 784-48-10 on MNIST, {@code fashion-mlp} 784-20-10 on Fashion-MNIST. */
    @Param({"mlp", "fashion-mlp", "cnn", "bn-cnn"})
    public String model;

    private Sequential net;
    private final List<Tensor> batches = new ArrayList<>();
    private int[][] labels;

    @Setup
    public void setup() throws IOException {
        String data = System.getenv("GRADUS_DATA");
        if (data == null) {
            throw new IllegalStateException("TestSetInferenceBenchmark needs the test images: set GRADUS_DATA");
        }
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(1);
        boolean flat = model.endsWith("mlp");
        net = Benchmarks.exampleModel(model, cpu, rng);
        net.eval();
        Dataset test = model.equals("fashion-mlp")
                ? FashionMnist.load(Path.of(data, "fashion-mnist")).test()
                : Mnist.load(Path.of(data, "mnist")).test();
        labels = new int[IMAGES / BATCH][];
        int b = 0;
        for (DataLoader.Batch batch : new DataLoader(test, BATCH).flatten(flat).epoch(cpu)) {
            try (batch) {
                batches.add(batch.x().persist());
                labels[b++] = batch.y().toIntArray();
            }
        }
    }

    @TearDown
    public void tearDown() {
        batches.forEach(Tensor::close);
        net.close();
    }

    /** One pass over the test set: the score is images per second; returns the number classified correctly. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(IMAGES)
    public int testSet() {
        int correct = 0;
        try (GradMode ng = GradMode.noGrad()) {
            for (int b = 0; b < batches.size(); b++) {
                try (Scope s = Scope.open()) {
                    int[] predicted = net.forward(batches.get(b)).argmax(1).toIntArray();
                    for (int i = 0; i < predicted.length; i++) {
                        correct += predicted[i] == labels[b][i] ? 1 : 0;
                    }
                }
            }
        }
        return correct;
    }
}
