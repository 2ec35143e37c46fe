package dev.gradus.benchmarks;

import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.Backends;
import dev.gradus.spi.Backend;
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
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ConvBenchmark {
    /** conv1: [128, 1, 28, 28] -> 16; conv2: [128, 16, 14, 14] -> 32; conv3: [128, 32, 7, 7] -> 32 (3x3, pad 1). */
    @Param({"conv1", "conv2", "conv3"})
    public String layer;

    /** {@code cpu}, or {@code cuda} on a GPU machine ({@code -p backend=cuda}: cuDNN and Gradus kernels). */
    @Param({"cpu"})
    public String backend;

    private Backend cpu; // or the GPU backend
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
        cpu = Backends.get(backend);
        Backends.setDefault(cpu);
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
        dx = Tensor.full(cpu, 0f, xs);
        dw = Tensor.full(cpu, 0f, ws);
        db = Tensor.full(cpu, 0f, l[3]);
        pooled = Tensor.full(cpu, 0f, ps);
        argmax = Tensor.ofInts(cpu, new int[ps[0] * ps[1] * ps[2] * ps[3]], ps);
        bnOut = Tensor.full(cpu, 0f, os);
        mean = Tensor.full(cpu, 0f, l[3]);
        invStd = Tensor.full(cpu, 0f, l[3]);
    }

    @TearDown
    public void tearDown() {
        for (Tensor t : new Tensor[] {x, w, b, out, dx, dw, db, pooled, argmax, bnOut, mean, invStd}) {
            t.close();
        }
    }

    @Benchmark
    public Tensor convForward() {
        cpu.conv2d(x.storage(), xs, w.storage(), ws, b.storage(), out.storage(), os, conv);
        cpu.synchronize(); // a GPU only queues the work
        return out;
    }

    @Benchmark
    public Tensor convBackwardData() {
        cpu.conv2dBackwardData(out.storage(), os, w.storage(), ws, dx.storage(), xs, conv);
        cpu.synchronize(); // a GPU only queues the work
        return dx;
    }

    @Benchmark
    public Tensor convBackwardFilter() {
        cpu.conv2dBackwardFilter(x.storage(), xs, out.storage(), os, dw.storage(), ws, db.storage(), conv);
        cpu.synchronize(); // a GPU only queues the work
        return dw;
    }

    @Benchmark
    public Tensor maxPool() {
        cpu.pool2d(PoolOp.MAX, out.storage(), os, pooled.storage(), ps, argmax.storage(), pool);
        cpu.synchronize(); // a GPU only queues the work
        return pooled;
    }

    @Benchmark
    public Tensor batchNormTrain() {
        cpu.batchNormTrain(out.storage(), os[0], os[1], os[2] * os[3], null, null, 1e-5f, 0.1f, null, null,
                bnOut.storage(), mean.storage(), invStd.storage());
        cpu.synchronize(); // a GPU only queues the work
        return bnOut;
    }
}
