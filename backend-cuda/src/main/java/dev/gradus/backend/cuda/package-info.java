/**
 * The CUDA backend (experimental: not yet run on a GPU, off unless {@code -Dgradus.cuda.experimental=true}).
 *
 * <ul>
 *   <li>{@link dev.gradus.backend.cuda.CudaBackendProvider}: registration, and the one-line reason it cannot run
 *       ({@code CudaProbe}: runtime, driver, devices).</li>
 *   <li>{@link dev.gradus.backend.cuda.CudaBackend}: the {@code Backend} face: device storage, work on one
 *       stream, shared by any number of threads (pooled handles, pinned storages).</li>
 *   <li>Package-private, the backend's parts, one concern each ({@code CudaBackend} binds the thread, pins an op's
 *       storages and delegates): {@code CudaTransfers} (host-device copies through pinned buffers),
 *       {@code CudaLauncher} (kernel arguments and launches on the stream), {@code CudaOperands} (storage checks and
 *       device addresses), {@code CudaElementwise}, {@code CudaReduce}, {@code CudaMatmul} (cuBLAS, its handle
 *       pool), {@code CudaSoftmax}, {@code CudaIndexing}, {@code CudaConvDispatch}
 *       (convolution to cuDNN, pooling and batch norm to kernels), {@code CudaOpKernels} (ops' and optimizers' own CUDA
 *       sources),
 *       {@code CudaDiagnostics}.</li>
 *   <li>{@code CachingAllocator}: device memory with a cache of freed blocks in size classes.</li>
 *   <li>{@link dev.gradus.backend.cuda.CudaKernels}, {@code Nvrtc} and {@code CudaModule}: the {@code .cu} sources
 *       under {@code kernels/}, compiled with NVRTC to a CUBIN for the device and cached on disk.</li>
 *   <li>{@code CudnnConv}: convolution forward and backward through cuDNN, planned once per shape.</li>
 *   <li>{@code KernelLayout}: strides and shapes packed as the kernels' {@code struct Layout}.</li>
 * </ul>
 */
package dev.gradus.backend.cuda;
