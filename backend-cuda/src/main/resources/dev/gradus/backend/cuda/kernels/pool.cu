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
    *value = op == POOL_MAX ? best : sum / (float) (kh * kw);
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
        if (op == POOL_MAX) {
            argmax[i] = a;
        }
    }
}

// The gradient of one input element of one plane: the sum of dOut over the windows that cover it (max: only
// where it was the argmax). Host code can call it too (the test harness does).
__host__ __device__ __forceinline__ float gradus_pool_grad_one(int op, const float* g, const int* am, int h, int w,
                                                               int yy, int xx, int oh, int ow, int kh, int kw,
                                                               int sh, int sw, int ph, int pw) {
    // windows y with y*sh - ph <= yy <= y*sh - ph + kh - 1; plain comparisons, as NVRTC has no standard headers
    int yLo = (yy + ph - kh + sh) / sh;
    int yHi = (yy + ph) / sh;
    int xLo = (xx + pw - kw + sw) / sw;
    int xHi = (xx + pw) / sw;
    yLo = yLo < 0 ? 0 : yLo;
    yHi = yHi > oh - 1 ? oh - 1 : yHi;
    xLo = xLo < 0 ? 0 : xLo;
    xHi = xHi > ow - 1 ? ow - 1 : xHi;
    float inv = 1.f / (float) (kh * kw);
    int at = yy * w + xx;
    float acc = 0.f;
    for (int y = yLo; y <= yHi; ++y) {
        for (int xq = xLo; xq <= xHi; ++xq) {
            int o = y * ow + xq;
            if (op == POOL_MAX) {
                if (am[o] == at) acc += g[o];
            } else {
                acc += g[o] * inv;
            }
        }
    }
    return acc;
}

// dx[plane, yy, xx] from dOut (and the forward pass's argmax for max pooling); a gather, so no atomics.
extern "C" __global__ void gradus_pool2d_backward(int op, const float* dOut, const int* argmax, int planes, int h,
                                                  int w, float* dx, int oh, int ow, int kh, int kw, int sh, int sw,
                                                  int ph, int pw) {
    long long total = (long long) planes * h * w;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < total;
         i += (long long) gridDim.x * blockDim.x) {
        int pl = (int) (i / ((long long) h * w));
        int at = (int) (i % ((long long) h * w));
        long long planeOut = (long long) pl * oh * ow;
        dx[i] = gradus_pool_grad_one(op, dOut + planeOut, op == POOL_MAX ? argmax + planeOut : argmax, h, w, at / w, at % w,
                                     oh, ow, kh, kw, sh, sw, ph, pw);
    }
}
