package dev.gradus.benchmarks;

import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.backend.cpu.CpuBackend;
import dev.gradus.backend.cuda.CudaBackend;
import dev.gradus.spi.Backend;
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
 * {@code a.matmul(b)} through the Tensor API against a raw {@code cblas_sgemm} and oneDNN's matmul primitive on the
 * same native buffers (the Dense layers' shapes: the examples' MLPs at their batch sizes and at inference batches of
 * 1000, and bn-cnn's 1568 -> 256).
 *
 * <p>GFLOP/s = 2*M*N*K / (seconds per op) / 1e9. Run: {@code java -jar benchmarks/target/gradus-benchmarks.jar
 * MatmulBenchmark}.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MatmulBenchmark {
    /** M x K x N. */
    @Param({"128x784x48", "1000x784x48", "32x784x20", "1000x784x20", "128x1568x256", "1024x1024x1024"})
    public String size;

    /** {@code cpu}, or {@code cuda} on a GPU machine ({@code -p backend=cuda}; raw is then cuBLAS). */
    @Param({"cpu"})
    public String backend;

    private Backend be;
    private Tensor a;
    private Tensor b;
    private Tensor c;
    private int m;
    private int k;
    private int n;

    @Setup
    public void setup() {
        String[] p = size.split("x");
        m = Integer.parseInt(p[0]);
        k = Integer.parseInt(p[1]);
        n = Integer.parseInt(p[2]);
        be = Backends.get(backend);
        Backends.setDefault(be);
        Rng rng = new Rng(1);
        a = Tensor.uniform(rng, -1, 1, m, k);
        b = Tensor.uniform(rng, -1, 1, k, n);
        c = Tensor.full(be, 0f, m, n);
    }

    @TearDown
    public void tearDown() {
        a.close();
        b.close();
        c.close();
    }

    /** Through the Tensor API: shape checks, a pooled output tensor, autodiff bookkeeping off. */
    @Benchmark
    public float api() {
        try (Scope s = Scope.open()) {
            Tensor out = a.matmul(b);
            be.synchronize(); // a GPU only queues the work
            return out.numel();
        }
    }

    /** Raw OpenBLAS (or cuBLAS) on the same buffers: the ceiling. */
    @Benchmark
    public int raw() {
        if (be instanceof CpuBackend cpu) {
            cpu.rawSgemm(
                    a.operand().storage(), b.operand().storage(), c.operand().storage(), m, n, k);
        } else {
            ((CudaBackend) be)
                    .rawSgemm(
                            a.operand().storage(),
                            b.operand().storage(),
                            c.operand().storage(),
                            m,
                            n,
                            k);
            be.synchronize();
        }
        return m;
    }

    /** oneDNN's matmul on the same buffers (CPU only): does it beat OpenBLAS for Dense layers? */
    @Benchmark
    public int onednn() {
        if (!(be instanceof CpuBackend cpu)
                || !cpu.rawDnnlMatmul(
                        a.operand().storage(),
                        b.operand().storage(),
                        c.operand().storage(),
                        m,
                        n,
                        k)) {
            throw new IllegalStateException("onednn: needs the cpu backend with oneDNN loaded");
        }
        return m;
    }
}
