package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ab;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_matmul_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_create_with_strides;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;

/**
 * Row-major {@code c = op(a) op(b)} through oneDNN's matmul primitive, one primitive per shape, transposes and
 * leading dimensions.
 *
 * <p>Why: once a model runs its convolutions on oneDNN, its Dense layers' GEMMs on OpenBLAS pay for the switch
 * between the two runtimes' threads (measured: {@code [128, 1568] x [1568, 256]} after a oneDNN convolution took
 * 1.2-1.5 ms on OpenBLAS and 0.95-1.0 ms on oneDNN, both about 0.9-1.0 ms alone), so {@link CpuMatmul} sends its
 * large matrix products here from then on. Forward products over inference batches (512 rows and more) come here
 * in any model, where whole test-set passes measured faster; MLP training and small products keep OpenBLAS,
 * which was as fast or faster for them.
 */
final class DnnlMatmul {
    private record Key(int m, int k, int n, boolean aTrans, int lda, boolean bTrans, int ldb) {}

    private final Dnnl dnnl;
    private final DnnlPlanCache plans;
    private final Function<Key, DnnlPlan> build = this::build;
    private final LongAdder calls = new LongAdder();

    DnnlMatmul(Dnnl dnnl, DnnlPlanCache plans) {
        this.dnnl = dnnl;
        this.plans = plans;
    }

    /** {@code c = a b} on plain row-major buffers. */
    void run(CpuStorage a, CpuStorage b, CpuStorage c, int m, int n, int k) {
        run(a, false, k, b, false, n, c, m, n, k);
    }

    /**
     * {@code c [m, n] = op(a) [m, k] x op(b) [k, n]}, {@code op} a transpose where the flag says so and the leading
     * dimension as BLAS takes it; {@code c} is dense row-major.
     */
    void run(
            CpuStorage a,
            boolean aTrans,
            int lda,
            CpuStorage b,
            boolean bTrans,
            int ldb,
            CpuStorage c,
            int m,
            int n,
            int k) {
        // A lock-free hit: every product of a model past its first step.
        DnnlPlanCache.Entry<DnnlPlan> e = plans.acquire(new Key(m, k, n, aTrans, lda, bTrans, ldb), build);
        try {
            e.plan().run(dnnl, a, b, c);
        } finally {
            e.release();
        }
        calls.increment();
    }

    /** Products run so far. */
    long calls() {
        return calls.sum();
    }

    private DnnlPlan build(Key key) {
        dnnl_memory_desc src = strided(key.m, key.k, key.aTrans, key.lda);
        dnnl_memory_desc weights = strided(key.k, key.n, key.bTrans, key.ldb);
        dnnl_memory_desc dst = Dnnl.md(dnnl_ab, key.m, key.n);
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        Dnnl.check(
                dnnl_matmul_primitive_desc_create(pd, dnnl.engine(), src, weights, null, dst, dnnl.attr()),
                "matmul descriptor " + key);
        return new DnnlPlan.Builder(dnnl, pd)
                .add(DNNL_ARG_SRC, src, src, true, null)
                .add(DNNL_ARG_WEIGHTS, weights, weights, true, null)
                .add(DNNL_ARG_DST, dst, dst, false, null)
                .build();
    }

    /** A {@code rows x cols} matrix stored row-major with leading dimension {@code ld}, or its transpose's. */
    private static dnnl_memory_desc strided(int rows, int cols, boolean trans, int ld) {
        dnnl_memory_desc md = new dnnl_memory_desc();
        long[] dims = {rows, cols};
        long[] strides = trans ? new long[] {1, ld} : new long[] {ld, 1};
        Dnnl.check(dnnl_memory_desc_create_with_strides(md, 2, dims, dnnl_f32, strides), "matmul memory descriptor");
        return md;
    }
}
