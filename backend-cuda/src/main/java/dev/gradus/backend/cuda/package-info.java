/**
 * The CUDA backend's registration: {@link dev.gradus.backend.cuda.CudaBackendProvider}, which reports the backend
 * unavailable until its kernels exist.
 */
package dev.gradus.backend.cuda;
