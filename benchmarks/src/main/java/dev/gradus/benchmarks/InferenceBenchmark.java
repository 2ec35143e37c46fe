package dev.gradus.benchmarks;

import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
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
 * Serving numbers for the examples' models in evaluation mode: the latency of one image (JMH sample mode
 * reports p50, p90, p99 and p99.9) and the throughput of batches of {@value #BATCH} in images per second.
 * Each call builds its input tensor and reads the predicted class back, as a server answering a request would.
 *
 * <pre>{@code java -jar benchmarks/target/gradus-benchmarks.jar InferenceBenchmark}</pre>
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class InferenceBenchmark {
    static final int BATCH = 256;

    @Param({"mlp", "cnn", "bn-cnn"})
    public String model;

    private Backend cpu;
    private Sequential net;
    private float[] one;
    private float[] batch;
    private int[] shape1;
    private int[] shapeBatch;

    @Setup
    public void setup() {
        cpu = CpuBackendProvider.get();
        Rng rng = new Rng(1);
        net = Benchmarks.exampleModel(model, cpu, rng);
        net.eval();
        boolean flat = model.equals("mlp");
        shape1 = flat ? new int[] {1, 784} : new int[] {1, 1, 28, 28};
        shapeBatch = flat ? new int[] {BATCH, 784} : new int[] {BATCH, 1, 28, 28};
        one = new float[784];
        batch = new float[BATCH * 784];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = rng.nextFloat();
        }
        System.arraycopy(batch, 0, one, 0, 784);
    }

    @TearDown
    public void tearDown() {
        net.close();
    }

    private int[] predict(float[] images, int[] shape) {
        try (GradMode ng = GradMode.noGrad();
                Scope s = Scope.open()) {
            return net.forward(Tensor.of(cpu, images, shape)).argmax(1).toIntArray();
        }
    }

    /** One image in, its class out: the latency distribution. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int[] singleImage() {
        return predict(one, shape1);
    }

    /** Batches of {@value #BATCH}: the score is images per second. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(BATCH)
    public int[] batched() {
        return predict(batch, shapeBatch);
    }
}
