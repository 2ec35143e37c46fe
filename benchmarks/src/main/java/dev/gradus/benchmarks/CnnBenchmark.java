package dev.gradus.benchmarks;

import dev.gradus.Backends;
import dev.gradus.GradMode;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.examples.BnCnnCommand;
import dev.gradus.examples.CnnCommand;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
import dev.gradus.train.Training;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The examples' CNNs at batch 128: one training step (forward, backward, Adam) and inference of a batch in
 * evaluation mode without a graph. Seconds per epoch = 469 steps; images/s = 128 / seconds per inference batch.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CnnBenchmark {
    @Param({"cnn", "bn-cnn"})
    public String model;

    /** {@code cpu} (oneDNN), {@code cpu-im2col} (without it), or {@code cuda} on a GPU machine. */
    @Param({"cpu", "cpu-im2col"})
    public String backend;

    private Sequential net;
    private Adam opt;
    private Tensor x;
    private Tensor y;

    @Setup
    public void setup() {
        Backend be = Benchmarks.backend(backend);
        Backends.setDefault(be);
        Rng rng = new Rng(1);
        net = model.equals("cnn") ? CnnCommand.model(be, rng) : BnCnnCommand.model(be, rng);
        opt = new Adam(net.parameters(), Adam.Config.lr(0.001f));
        x = Tensor.uniform(rng, 0, 1, 128, 1, 28, 28);
        int[] labels = new int[128];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % 10;
        }
        y = Tensor.ofInts(be, labels, 128);
    }

    @TearDown
    public void tearDown() {
        opt.close();
        net.close();
        x.close();
        y.close();
    }

    /** One training step of a batch of 128. */
    @Benchmark
    public float trainStep() {
        net.train();
        try (Scope s = Scope.open()) {
            return Training.step(net, opt, x, y).item();
        }
    }

    /** Predictions for a batch of 128 in evaluation mode, no graph. */
    @Benchmark
    public int inferBatch() {
        net.eval();
        try (Scope s = Scope.open();
                GradMode ng = GradMode.noGrad()) {
            // The classes come back to the host, as a caller's would: on a GPU that also waits for the work.
            return net.forward(x).argmax(1).toIntArray().length;
        }
    }
}
