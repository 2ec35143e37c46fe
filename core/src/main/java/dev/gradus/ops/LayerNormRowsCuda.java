package dev.gradus.ops;

/**
 * The CUDA kernels of {@link LayerNormRows}, one thread per output element ({@link dev.gradus.spi.CudaSource}'s
 * contract): each thread recomputes its row's mean and variance (rows are short: a transformer's width).
 */
final class LayerNormRowsCuda {
    private LayerNormRowsCuda() {}

    static final String SOURCE = """
            // Mean and 1 / sqrt(var + eps) of the row of x [R, D] starting at base.
            __device__ __forceinline__ void gradus_layer_norm_stats(const float* x, long long base, long long D,
                                                                    float eps, float* mean, float* rstd) {
                double sum = 0;
                for (long long j = 0; j < D; j++) sum += x[base + j];
                const float m = (float) (sum / D);
                double sq = 0;
                for (long long j = 0; j < D; j++) {
                    const float c = x[base + j] - m;
                    sq += c * c;
                }
                *mean = m;
                *rstd = (float) (1.0 / sqrt(sq / D + eps));
            }

            // out [R, D]: (x - mean) * rstd; D is the row length.
            extern "C" __global__ void gradus_layer_norm_rows(float* out, long long n, const float* x, long long nx,
                                                              const float* eps, long long one,
                                                              const float* width, long long one2) {
                long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (k >= n) return;
                const long long D = (long long) width[0];
                const long long base = k / D * D;
                float mean, rstd;
                gradus_layer_norm_stats(x, base, D, eps[0], &mean, &rstd);
                out[k] = (x[k] - mean) * rstd;
            }

            // out [R, D]: rstd * (g - mean(g) - xhat * mean(g * xhat)).
            extern "C" __global__ void gradus_layer_norm_rows_backward(float* out, long long n, const float* g,
                                                                       long long ng, const float* x, long long nx,
                                                                       const float* eps, long long one,
                                                                       const float* width, long long one2) {
                long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (k >= n) return;
                const long long D = (long long) width[0];
                const long long base = k / D * D;
                float mean, rstd;
                gradus_layer_norm_stats(x, base, D, eps[0], &mean, &rstd);
                double gSum = 0;
                double gxSum = 0;
                for (long long j = 0; j < D; j++) {
                    gSum += g[base + j];
                    gxSum += g[base + j] * ((x[base + j] - mean) * rstd);
                }
                out[k] = rstd * (g[k] - (float) (gSum / D) - (x[k] - mean) * rstd * (float) (gxSum / D));
            }
            """;
}
