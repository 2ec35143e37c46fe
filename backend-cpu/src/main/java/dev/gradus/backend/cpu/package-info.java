/**
 * The CPU backend: {@link dev.gradus.backend.cpu.CpuBackend} (OpenBLAS GEMM on native memory, Java kernels for
 * the rest), {@link dev.gradus.backend.cpu.CpuBackendProvider} (ServiceLoader registration, thread settings) and
 * {@link dev.gradus.backend.cpu.OpenBlasInfo} (the kernel set OpenBLAS runs and whether it is weaker than the
 * CPU allows).
 */
package dev.gradus.backend.cpu;
