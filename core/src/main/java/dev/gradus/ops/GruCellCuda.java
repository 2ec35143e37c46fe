package dev.gradus.ops;

/**
 * The CUDA kernels of {@link GruCell}, one thread per output element ({@link dev.gradus.spi.CudaSource}'s contract):
 * each thread recomputes its row's gates at its column.
 */
final class GruCellCuda {
    private GruCellCuda() {}

    static final String SOURCE = """
            __device__ __forceinline__ float gradus_gru_sigmoid(float v) { return 1.f / (1.f + expf(-v)); }

            // The gates r, z, n of row i at column j; H = hidden size.
            __device__ __forceinline__ void gradus_gru_gates(const float* xg, const float* hg, long long i,
                                                             long long j, long long H, float* r, float* z,
                                                             float* n) {
                const long long base = i * 3 * H + j;
                *r = gradus_gru_sigmoid(xg[base] + hg[base]);
                *z = gradus_gru_sigmoid(xg[base + H] + hg[base + H]);
                *n = tanhf(xg[base + 2 * H] + *r * hg[base + 2 * H]);
            }

            // out [N, H]: h'.
            extern "C" __global__ void gradus_gru_cell(float* out, long long count, const float* xg, long long nx,
                                                       const float* hg, long long nh, const float* h, long long nhs,
                                                       const float* hidden, long long one) {
                long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (k >= count) return;
                const long long H = (long long) hidden[0];
                const long long i = k / H;
                const long long j = k % H;
                float r, z, n;
                gradus_gru_gates(xg, hg, i, j, H, &r, &z, &n);
                out[k] = n + z * (h[k] - n);
            }

            // out [N, 7H]: the gradients of xGates (3H), of hGates (3H), then of h (H); d [N, H] holds dh'.
            extern "C" __global__ void gradus_gru_cell_backward(float* out, long long count, const float* xg,
                                                                long long nx, const float* hg, long long nh,
                                                                const float* h, long long nhs, const float* d,
                                                                long long nd, const float* hidden, long long one) {
                long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (k >= count) return;
                const long long H = (long long) hidden[0];
                const long long i = k / (7 * H);
                const long long col = k % (7 * H);
                const long long part = col / H;
                const long long j = col % H;
                float r, z, n;
                gradus_gru_gates(xg, hg, i, j, H, &r, &z, &n);
                const float dh = d[i * H + j];
                const float hn = hg[i * 3 * H + 2 * H + j];
                const float dnPre = dh * (1.f - z) * (1.f - n * n);
                const float drPre = dnPre * hn * r * (1.f - r);
                const float dzPre = dh * (h[i * H + j] - n) * z * (1.f - z);
                float v;
                switch (part) {
                    case 0: case 3: v = drPre; break;
                    case 1: case 4: v = dzPre; break;
                    case 2: v = dnPre; break;
                    case 5: v = dnPre * r; break;
                    default: v = dh * z; break;
                }
                out[k] = v;
            }
            """;
}
