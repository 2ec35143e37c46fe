/**
 * The CPU backend.
 *
 * <ul>
 *   <li>{@link dev.gradus.backend.cpu.CpuBackend}: OpenBLAS GEMM on native memory, oneDNN for convolution, max
 *       pooling, batch norm, ReLU's gradient and a CNN's large matrix products, Java kernels for the rest.</li>
 *   <li>{@link dev.gradus.backend.cpu.CpuBackendProvider}: ServiceLoader registration, the thread setting, the
 *       im2col fallback when oneDNN is off or does not load.</li>
 *   <li>Threads: primitives use user scratchpads and per-call arguments ({@code Dnnl}, {@code DnnlPlan}); ops pin
 *       their storages ({@code CpuStorage}) so a tensor closed on another thread is recycled after the op.</li>
 *   <li>{@link dev.gradus.backend.cpu.OpenBlasInfo}: the kernel set OpenBLAS runs and whether it is weaker than the
 *       CPU allows.</li>
 *   <li>Package-private: {@code Dnnl} (library, engine, streams, OpenMP settings), {@code DnnlPlan} (one primitive
 *       and a pool of per-call argument sets, so threads run it at once), {@code DnnlLayout} (blocked layouts a storage may hold between oneDNN ops),
 *       {@code DnnlConv}, {@code DnnlPool}, {@code DnnlBatchNorm}, {@code DnnlEltwise}, {@code DnnlMatmul}.</li>
 *   <li>Package-private, the backend's parts, one concern each ({@code CpuBackend} pins an op's storages and
 *       delegates): {@code CpuAllocator} (native memory and its bounded cache), {@code CpuStorage}
 *       (a storage and the views its buffers are reached through, so the layout is in the type: {@code Plain}
 *       from {@code plain(s)}, row-major, for every Java kernel; {@code Blocked}, a oneDNN layout read as it is under
 *       a read hold, for the few kernels that work on it; {@code asStored} gives oneDNN the bytes and their layout), {@code Scratch} and {@code StridedRows} (per-thread tiles, strided row walks),
 *       {@code CpuElementwise}, {@code CpuReduce}, {@code CpuMatmul} (with its OpenBLAS/oneDNN routing policy),
 *       {@code CpuSoftmax}, {@code CpuIndexing}, {@code CpuUpdates}, {@code CpuConvDispatch} (convolution,
 *       pooling and batch norm to oneDNN or Java), {@code CpuConv} (im2col convolution), {@code CpuPool},
 *       {@code CpuBatchNorm}, {@code NanScans}, {@code CpuDiagnostics}, {@code Kernels} (the inner loops),
 *       {@code Parallel}, {@code NativeEnv}.</li>
 * </ul>
 */
package dev.gradus.backend.cpu;
