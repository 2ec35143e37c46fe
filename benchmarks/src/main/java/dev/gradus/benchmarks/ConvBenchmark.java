package dev.gradus.benchmarks;

import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Flux CNN's layers at batch 128 through the CPU backend: convolution forward, backward-data and
 * backward-filter, 2x2 max pooling and training-mode batch norm on each convolution's output.
 *
 * <p>GFLOP per convolution call = 2*N*K*C*R*S*P*Q/1e9: conv1 0.029, conv2 0.231, conv3 0.116. Run:
 * {@code java -jar benchmarks/target/gradus-benchmarks.jar ConvBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ConvBenchmark {
    /** conv1: [128, 1, 28, 28] -> 16; conv2: [128, 16, 14, 14] -> 32; conv3: [128, 32, 7, 7] -> 32 (3x3, pad 1). */
    @Param({"conv1", "conv2", "conv3"})
    public String layer;

    /** {@code cpu} (oneDNN), {@code cpu-im2col} (without it), or {@code cuda} on a GPU machine (cuDNN and Gradus kernels). */
    @Param({"cpu", "cpu-im2col"})
    public String backend;

    private Backend be;
    private final ConvParams conv = new ConvParams(1, 1, 1, 1, 1, 1, 1);
    private final PoolParams pool = new PoolParams(2, 2, 2, 2, 0, 0);
    private int[] xs;
    private int[] ws;
    private int[] os;
    private int[] ps;
    private Tensor x;
    private Tensor w;
    private Tensor b;
    private Tensor out;
    private Tensor dx;
    private Tensor dw;
    private Tensor db;
    private Tensor pooled;
    private Tensor argmax;
    private Tensor bnOut;
    private Tensor mean;
    private Tensor invStd;

    @Setup
    public void setup() {
        be = Benchmarks.backend(backend);
        Backends.setDefault(be);
        int[] l = switch (layer) {
            case "conv1" -> new int[] {128, 1, 28, 16};
            case "conv2" -> new int[] {128, 16, 14, 32};
            default -> new int[] {128, 32, 7, 32};
        };
        xs = new int[] {l[0], l[1], l[2], l[2]};
        ws = new int[] {l[3], l[1], 3, 3};
        os = new int[] {l[0], l[3], l[2], l[2]};
        ps = new int[] {l[0], l[3], l[2] / 2, l[2] / 2};
        Rng rng = new Rng(1);
        x = Tensor.uniform(rng, -1, 1, xs);
        w = Tensor.uniform(rng, -1, 1, ws);
        b = Tensor.uniform(rng, -1, 1, l[3]);
        out = Tensor.uniform(rng, -1, 1, os);
        dx = Tensor.full(be, 0f, xs);
        dw = Tensor.full(be, 0f, ws);
        db = Tensor.full(be, 0f, l[3]);
        pooled = Tensor.full(be, 0f, ps);
        argmax = Tensor.ofInts(be, new int[ps[0] * ps[1] * ps[2] * ps[3]], ps);
        bnOut = Tensor.full(be, 0f, os);
        mean = Tensor.full(be, 0f, l[3]);
        invStd = Tensor.full(be, 0f, l[3]);
    }

    @TearDown
    public void tearDown() {
        for (Tensor t : new Tensor[] {x, w, b, out, dx, dw, db, pooled, argmax, bnOut, mean, invStd}) {
            t.close();
        }
    }

    @Benchmark
    public Tensor convForward() {
        be.conv2d(x.operand(), w.operand(), b.operand(), out.operand(), conv);
        return synced(out);
    }

    @Benchmark
    public Tensor convBackwardData() {
        be.conv2dBackwardData(out.operand(), w.operand(), dx.operand(), conv);
        return synced(dx);
    }

    @Benchmark
    public Tensor convBackwardFilter() {
        be.conv2dBackwardFilter(x.operand(), out.operand(), dw.operand(), db.operand(), conv);
        return synced(dw);
    }

    @Benchmark
    public Tensor maxPool() {
        be.pool2d(PoolOp.MAX, out.operand(), pooled.operand(), argmax.operand(), pool);
        return synced(pooled);
    }

    @Benchmark
    public Tensor batchNormTrain() {
        be.batchNormTrain(
                out.operand(),
                bnOut.operand(),
                new BatchNormArgs(null, null, null, null, mean.operand(), invStd.operand(), 1e-5f, 0.1f));
        return synced(bnOut);
    }

    /** {@code t} once the backend's queued work is done: a GPU only queues it. */
    private Tensor synced(Tensor t) {
        be.synchronize();
        return t;
    }
}
