package dev.gradus.spi;

/**
 * A CUDA C kernel for an op, compiled at run time with NVRTC by the CUDA backend (once per source), with its
 * launch contract fixed here so that the backend needs no other description of it.
 *
 * <p>The contract, for an op of {@code k} inputs whose output has {@code n} elements: the source defines
 * <pre>
 * extern "C" __global__ void ENTRY(float* out, long long n,
 *                                  const float* in0, long long n0, ..., const float* in{k-1}, long long n{k-1})
 * </pre>
 * launched with {@code ceil(n / 256)} blocks of 256 threads on the backend's stream (not at all when {@code n} is
 * 0); thread {@code i = blockIdx.x * blockDim.x + threadIdx.x} writes output element {@code i} (row-major) when
 * {@code i < n} and does nothing otherwise. Every pointer is device memory holding its tensor row-major and
 * contiguous from element 0: input {@code j} has {@code nj} elements in its own shape (no broadcasting is done for
 * the kernel). The source must be self-contained (no {@code #include} beyond what NVRTC provides); constants an op
 * needs beyond the sizes are written into the source or passed as one-element inputs.
 *
 * <pre>{@code
 * new CudaSource("""
 *     extern "C" __global__ void twice(float* out, long long n, const float* x, long long nx) {
 *         long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
 *         if (i < n) out[i] = 2.f * x[i];
 *     }""", "twice")
 * }</pre>
 *
 * @param source the CUDA C text
 * @param entry the {@code extern "C"} kernel to launch
 */
public record CudaSource(String source, String entry) {
    /** Threads per block of every launch. */
    public static final int THREADS = 256;

    /**
     * Checks the entry point's name.
     *
     * @throws IllegalArgumentException when the source or entry is empty, the entry is not a C identifier or the
     *     source does not mention it
     */
    public CudaSource {
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("CudaSource: empty source for entry " + entry);
        }
        if (entry == null || !entry.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("CudaSource: entry '" + entry + "' is not a C identifier");
        }
        if (!source.contains(entry)) {
            throw new IllegalArgumentException("CudaSource: the source does not define entry '" + entry + "'");
        }
    }
}
