package dev.gradus.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ab;
import static org.bytedeco.dnnl.global.dnnl.dnnl_matmul_primitive_desc_create;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;

/**
 * Row-major {@code c = a b} through oneDNN's matmul primitive, one primitive per shape. Not on the Dense layers'
 * path: it exists for {@code MatmulBenchmark}, which decided that question (OpenBLAS stays; see the README).
 */
final class DnnlMatmul {
    private record Key(int m, int k, int n) {}

    private final Dnnl dnnl;
    private final Map<Key, DnnlPlan> plans = new ConcurrentHashMap<>();

    DnnlMatmul(Dnnl dnnl) {
        this.dnnl = dnnl;
    }

    void run(CpuStorage a, CpuStorage b, CpuStorage c, int m, int n, int k) {
        plans.computeIfAbsent(new Key(m, k, n), this::build).run(dnnl, a, b, c);
    }

    private DnnlPlan build(Key key) {
        dnnl_memory_desc src = Dnnl.md(dnnl_ab, key.m, key.k);
        dnnl_memory_desc weights = Dnnl.md(dnnl_ab, key.k, key.n);
        dnnl_memory_desc dst = Dnnl.md(dnnl_ab, key.m, key.n);
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        Dnnl.check(
                dnnl_matmul_primitive_desc_create(pd, dnnl.engine(), src, weights, null, dst, null),
                "matmul descriptor " + key);
        return new DnnlPlan.Builder(dnnl, pd)
                .add(DNNL_ARG_SRC, src, src, true, null)
                .add(DNNL_ARG_WEIGHTS, weights, weights, true, null)
                .add(DNNL_ARG_DST, dst, dst, false, null)
                .build();
    }
}
