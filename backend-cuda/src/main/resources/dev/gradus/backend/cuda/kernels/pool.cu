// 2-D max and average pooling of dense NCHW planes, as the CPU backend: max keeps the index y * W + x of the
// first maximum (NaN wins, as in PyTorch); average divides by the whole window (padding counts, PyTorch's
// count_include_pad). Backward gathers per input element, so no atomics are needed and results repeat.
#include "common.cuh"

// One output element of one plane; host code can call it too (the test harness does).
__host__ __device__ __forceinline__ void gradus_pool_one(int op, const float* in, int h, int w, int y, int xq,
                                                         int kh, int kw, int sh, int sw, int ph, int pw,
                                                         float* value, int* argmax) {
    int y0 = y * sh - ph;
    int x0 = xq * sw - pw;
    float best = -3.402823466e38f;  // replaced by the first element in the window (bestAt < 0)
    int bestAt = -1;
    float sum = 0.f;
    for (int r = 0; r < kh; ++r) {
        int yy = y0 + r;
        if (yy < 0 || yy >= h) continue;
        for (int s = 0; s < kw; ++s) {
            int xx = x0 + s;
            if (xx < 0 || xx >= w) continue;
            float v = in[yy * w + xx];
            sum += v;
            if (v > best || bestAt < 0 || v != v) {
                best = v;
                bestAt = yy * w + xx;
            }
        }
    }
    *value = op == 0 ? best : sum / (float) (kh * kw);
    *argmax = bestAt;
}

// op 0 = max (argmax written), 1 = average.
extern "C" __global__ void gradus_pool2d(int op, const float* x, int planes, int h, int w, float* out, int* argmax,
                                         int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw) {
    long long total = (long long) planes * oh * ow;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < total;
         i += (long long) gridDim.x * blockDim.x) {
        int pl = (int) (i / ((long long) oh * ow));
        int rem = (int) (i % ((long long) oh * ow));
        float v;
        int a;
        gradus_pool_one(op, x + (long long) pl * h * w, h, w, rem / ow, rem % ow, kh, kw, sh, sw, ph, pw, &v, &a);
        out[i] = v;
        if (op == 0) {
            argmax[i] = a;
        }
    }
}

// dx[plane, yy, xx] = sum of dOut over the windows that cover it (max: only where it was the argmax).
extern "C" __global__ void gradus_pool2d_backward(int op, const float* dOut, const int* argmax, int planes, int h,
                                                  int w, float* dx, int oh, int ow, int kh, int kw, int sh, int sw,
                                                  int ph, int pw) {
    long long total = (long long) planes * h * w;
    float inv = 1.f / (float) (kh * kw);
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < total;
         i += (long long) gridDim.x * blockDim.x) {
        int pl = (int) (i / ((long long) h * w));
        int at = (int) (i % ((long long) h * w));
        int yy = at / w;
        int xx = at % w;
        // windows y with y*sh - ph <= yy <= y*sh - ph + kh - 1
        int yLo = max(0, (yy + ph - kh + sh) / sh);
        int yHi = min(oh - 1, (yy + ph) / sh);
        int xLo = max(0, (xx + pw - kw + sw) / sw);
        int xHi = min(ow - 1, (xx + pw) / sw);
        float acc = 0.f;
        const float* g = dOut + (long long) pl * oh * ow;
        const int* am = argmax + (long long) pl * oh * ow;
        for (int y = yLo; y <= yHi; ++y) {
            for (int xq = xLo; xq <= xHi; ++xq) {
                int o = y * ow + xq;
                if (op == 0) {
                    if (am[o] == at) acc += g[o];
                } else {
                    acc += g[o] * inv;
                }
            }
        }
        dx[i] = acc;
    }
}
