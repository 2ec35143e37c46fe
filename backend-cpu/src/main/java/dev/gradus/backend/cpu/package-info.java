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
 *       {@code DnnlConv}, {@code DnnlPool}, {@code DnnlBatchNorm}, {@code DnnlEltwise}, {@code DnnlMatmul}; {@code CpuConv} (im2col
 *       convolution, Java pooling and batch norm), {@code Kernels}, {@code Parallel}, {@code NativeEnv}.</li>
 * </ul>
 */
package dev.gradus.backend.cpu;
