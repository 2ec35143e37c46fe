package dev.gradus.ops;

/**
 * The CUDA kernels of {@link LstmCell}, one thread per output element ({@link dev.gradus.spi.CudaSource}'s contract):
 * each thread recomputes its row's four gates at its column, which costs less than a second pass over memory.
 */
final class LstmCellCuda {
    private LstmCellCuda() {}

    static final String SOURCE = """
            __device__ __forceinline__ float gradus_lstm_sigmoid(float v) { return 1.f / (1.f + expf(-v)); }

            // The four gates of row r at column j; H = hidden size.
            __device__ __forceinline__ void gradus_lstm_gates(const float* xg, const float* hg, long long r,
                                                              long long j, long long H, float* i, float* f,
                                                              float* g, float* o) {
                const long long base = r * 4 * H + j;
                *i = gradus_lstm_sigmoid(xg[base] + hg[base]);
                *f = gradus_lstm_sigmoid(xg[base + H] + hg[base + H]);
                *g = tanhf(xg[base + 2 * H] + hg[base + 2 * H]);
                *o = gradus_lstm_sigmoid(xg[base + 3 * H] + hg[base + 3 * H]);
            }

            // out [N, 2H]: h' then c'.
            extern "C" __global__ void gradus_lstm_cell(float* out, long long n, const float* xg, long long nx,
                                                        const float* hg, long long nh, const float* c,
                                                        long long nc, const float* hidden, long long one) {
                long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (k >= n) return;
                const long long H = (long long) hidden[0];
                const long long r = k / (2 * H);
                const long long col = k % (2 * H);
                const long long j = col % H;
                float i, f, g, o;
                gradus_lstm_gates(xg, hg, r, j, H, &i, &f, &g, &o);
                const float c2 = f * c[r * H + j] + i * g;
                out[k] = col < H ? o * tanhf(c2) : c2;
            }

            // out [N, 5H]: the gradients of the gates i, f, g, o, then of c; d [N, 2H] holds dh' then dc'.
            extern "C" __global__ void gradus_lstm_cell_backward(float* out, long long n, const float* xg,
                                                                 long long nx, const float* hg, long long nh,
                                                                 const float* c, long long nc, const float* d,
                                                                 long long nd, const float* hidden,
                                                                 long long one) {
                long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (k >= n) return;
                const long long H = (long long) hidden[0];
                const long long r = k / (5 * H);
                const long long col = k % (5 * H);
                const long long part = col / H;
                const long long j = col % H;
                float i, f, g, o;
                gradus_lstm_gates(xg, hg, r, j, H, &i, &f, &g, &o);
                const float cj = c[r * H + j];
                const float tc = tanhf(f * cj + i * g);
                const float dh = d[r * 2 * H + j];
                const float dc2 = d[r * 2 * H + H + j] + dh * o * (1.f - tc * tc);
                float v;
                switch (part) {
                    case 0: v = dc2 * g * i * (1.f - i); break;
                    case 1: v = dc2 * cj * f * (1.f - f); break;
                    case 2: v = dc2 * i * (1.f - g * g); break;
                    case 3: v = dh * tc * o * (1.f - o); break;
                    default: v = dc2 * f; break;
                }
                out[k] = v;
            }
            """;
}
