/**
 * The backend SPI: {@link dev.gradus.spi.Backend} (memory, elementwise ops by enum, reductions, GEMM, fused
 * kernels) and {@link dev.gradus.spi.BackendProvider} (found with {@code ServiceLoader}). Backends see
 * {@link dev.gradus.spi.Storage} and {@link dev.gradus.spi.Layout}, never tensors or the graph. Ops defined with
 * {@code dev.gradus.ops.Op} reach a backend through one method, {@link dev.gradus.spi.Backend#runKernel}, with
 * their kernels as {@link dev.gradus.spi.OpKernels}: a {@link dev.gradus.spi.JavaKernel} on float views and an
 * optional {@link dev.gradus.spi.CudaSource}. Optimizers' fused steps reach it through
 * {@link dev.gradus.spi.Backend#runUpdate}, as {@link dev.gradus.spi.UpdateKernels}: an elementwise in-place
 * {@link dev.gradus.spi.UpdateKernel} and an optional CUDA source.
 */
package dev.gradus.spi;
