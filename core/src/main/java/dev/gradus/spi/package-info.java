/**
 * The backend SPI: {@link dev.gradus.spi.Backend} (memory, elementwise ops by enum, reductions, GEMM, fused
 * kernels) and {@link dev.gradus.spi.BackendProvider} (found with {@code ServiceLoader}). Backends see
 * {@link dev.gradus.spi.Storage} and {@link dev.gradus.spi.Layout}, never tensors or the graph.
 */
package dev.gradus.spi;
