// Row-wise log-softmax and the fused cross-entropy pieces: one block per row, max and sum reduced in shared memory.
#include "common.cuh"

#define GRADUS_ROW_THREADS 256

__device__ float gradus_block_max(float v, float* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            shared[threadIdx.x] = fmaxf(shared[threadIdx.x], shared[threadIdx.x + s]);
        }
        __syncthreads();
    }
    float r = shared[0];
    __syncthreads();
    return r;
}

__device__ float gradus_block_sum(float v, float* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            shared[threadIdx.x] += shared[threadIdx.x + s];
        }
        __syncthreads();
    }
    float r = shared[0];
    __syncthreads();
    return r;
}

// out[r, :] = (x[r, :] - max) - log(sum(exp(x[r, :] - max))) for a contiguous [rows, cols] block.
extern "C" __global__ void gradus_log_softmax(const float* x, long long xOffset, int rows, int cols, float* out,
                                              long long outOffset) {
    __shared__ float shared[GRADUS_ROW_THREADS];
    int r = blockIdx.x;
    if (r >= rows) {
        return;
    }
    const float* in = x + xOffset + (long long) r * cols;
    float* o = out + outOffset + (long long) r * cols;
    float m = __int_as_float(0xff800000);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        m = fmaxf(m, in[c]);
    }
    m = gradus_block_max(m, shared);
    float s = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        s += expf(in[c] - m);
    }
    s = gradus_block_sum(s, shared);
    // (x - max) - log(sum), not x - (max + log(sum)): with large logits the float sum max + log(sum) would drop
    // the digits of log(sum) that the result consists of.
    float logSum = logf(s);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        o[c] = (in[c] - m) - logSum;
    }
}
