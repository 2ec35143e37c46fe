package dev.gradus.backend.cpu;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the CPU backend runs on and how often it used oneDNN: its {@code describe()} map and counters for tests.
 * {@code dnnl} and its three ops are null when oneDNN is off or could not load.
 */
record CpuDiagnostics(
        Parallel parallel,
        OpenBlasInfo blas,
        Dnnl dnnl,
        DnnlConv dnnlConv,
        DnnlMatmul dnnlMatmul,
        DnnlPool dnnlPool,
        String convolutionPath) {
    /** Matrix products oneDNN ran so far (0 without oneDNN); for tests. */
    long dnnlMatmulCalls() {
        return dnnlMatmul == null ? 0 : dnnlMatmul.calls();
    }

    /** oneDNN convolution primitives made so far (0 without oneDNN); for tests and diagnostics. */
    int dnnlConvPlans() {
        return dnnlConv == null ? 0 : dnnlConv.planCount();
    }

    /** Pooling passes that ran through oneDNN on blocked data (0 without oneDNN); for tests and diagnostics. */
    long dnnlPoolCalls() {
        return dnnlPool == null ? 0 : dnnlPool.calls();
    }

    /** Thread count, OpenBLAS's kernels, the convolution path and oneDNN's settings, in that order. */
    Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("java kernel threads", Integer.toString(parallel.threads()));
        m.putAll(blas.describe());
        m.put("convolution", convolutionPath);
        if (dnnl != null) {
            m.putAll(dnnl.describe());
        }
        return m;
    }
}
