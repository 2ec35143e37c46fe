package dev.gradus.backend.cuda;

import org.bytedeco.javacpp.FloatPointer;

/**
 * The alpha and beta factors cuBLAS and cuDNN read from host memory at each call: made once and only read, so
 * every thread shares them.
 *
 * <pre>{@code cublas.cublasSgemm_v2(h, opA, opB, m, n, k, ONE, a, lda, b, ldb, ZERO, c, ldc);}</pre>
 */
final class HostScalars {
    static final FloatPointer ONE = new FloatPointer(1).put(1f);
    static final FloatPointer ZERO = new FloatPointer(1).put(0f);

    private HostScalars() {}
}
