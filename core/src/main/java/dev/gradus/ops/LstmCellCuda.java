package dev.gradus.ops;

/**
 * The CUDA kernels of {@link LstmCell}, one thread per output element ({@link dev.gradus.spi.CudaSource}'s contract):
 * in the forward each thread of {@code h'} or {@code c'} evaluates its row's four gates at its column, which costs less
 * than a second pass over memory; the backward reads the activations the forward kept.
 */
final class LstmCellCuda {
    private LstmCellCuda() {}

    static final String SOURCE = """
            __device__ __forceinline__ float gradus_lstm_sigmoid(float v) { return 1.f / (1.f + expf(-v)); }

            // Gate q (0..3: i, f, g, o) of row r at column j, activated; H = hidden size.
            __device__ __forceinline__ float gradus_lstm_gate(const float* xg, const float* hg, long long r,
                                                              long long q, long long j, long long H) {
                const long long at = r * 4 * H + q * H + j;
                const float v = xg[at] + hg[at];
                return q == 2 ? tanhf(v) : gradus_lstm_sigmoid(v);
            }

            // out [N, 6H]: h', c', then the activated gates i, f, g, o.
            extern "C" __global__ void gradus_lstm_cell(float* out, long long n, const float* xg, long long nx,
                                                        const float* hg, long long nh, const float* c,
                                                        long long nc, const float* hidden, long long one) {
                long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (k >= n) return;
                const long long H = (long long) hidden[0];
                const long long r = k / (6 * H);
                const long long col = k % (6 * H);
                const long long j = col % H;
                if (col >= 2 * H) {
                    out[k] = gradus_lstm_gate(xg, hg, r, col / H - 2, j, H);
                    return;
                }
                const float i = gradus_lstm_gate(xg, hg, r, 0, j, H);
                const float f = gradus_lstm_gate(xg, hg, r, 1, j, H);
                const float g = gradus_lstm_gate(xg, hg, r, 2, j, H);
                const float o = gradus_lstm_gate(xg, hg, r, 3, j, H);
                const float c2 = f * c[r * H + j] + i * g;
                out[k] = col < H ? o * tanhf(c2) : c2;
            }

            // out [N, 5H]: the gradients of the gates i, f, g, o, then of c; s [N, 6H] the forward's output, d its
            // gradient (dh' then dc' read).
            extern "C" __global__ void gradus_lstm_cell_backward(float* out, long long n, const float* s,
                                                                 long long ns, const float* c, long long nc,
                                                                 const float* d, long long nd,
                                                                 const float* hidden, long long one) {
                long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (k >= n) return;
                const long long H = (long long) hidden[0];
                const long long r = k / (5 * H);
                const long long col = k % (5 * H);
                const long long part = col / H;
                const long long j = col % H;
                const float* row = s + r * 6 * H;
                const float i = row[2 * H + j];
                const float f = row[3 * H + j];
                const float g = row[4 * H + j];
                const float o = row[5 * H + j];
                const float tc = tanhf(row[H + j]);
                const float dh = d[r * 6 * H + j];
                const float dc2 = d[r * 6 * H + H + j] + dh * o * (1.f - tc * tc);
                float v;
                switch (part) {
                    case 0: v = dc2 * g * i * (1.f - i); break;
                    case 1: v = dc2 * c[r * H + j] * f * (1.f - f); break;
                    case 2: v = dc2 * i * (1.f - g * g); break;
                    case 3: v = dh * tc * o * (1.f - o); break;
                    default: v = dc2 * f; break;
                }
                out[k] = v;
            }
            """;
}
