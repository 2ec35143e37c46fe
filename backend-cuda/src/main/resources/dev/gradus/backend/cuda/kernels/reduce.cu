// Reductions along one axis of a contiguous [outer, axis, inner] view: one warp-strided block per output
// element, tree reduction in shared memory; the order of the sum is fixed, so results repeat run to run.
#include "common.cuh"

#define GRADUS_REDUCE_THREADS 256

// `out` holds floats, or ints for REDUCE_ARGMAX.
extern "C" __global__ void gradus_reduce(int op, const float* x, long long offset, int outer, int axis, int inner,
                                         void* out, long long outOffset) {
    __shared__ float val[GRADUS_REDUCE_THREADS];
    __shared__ int arg[GRADUS_REDUCE_THREADS];
    long long o = blockIdx.x;  // one block per (outer, inner) pair
    if (o >= (long long) outer * inner) {
        return;
    }
    int oi = (int) (o / inner);
    int ii = (int) (o % inner);
    const float* base = x + offset + (long long) oi * axis * inner + ii;
    float acc;
    int best = 0;
    if (op == REDUCE_SUM) {
        acc = 0.f;
    } else {
        acc = __int_as_float(0xff800000);   // -inf
    }
    for (int k = threadIdx.x; k < axis; k += blockDim.x) {
        float v = base[(long long) k * inner];
        if (op == REDUCE_SUM) {
            acc += v;
        } else if (v > acc || (v != v && acc == acc)) {
            acc = v;
            best = k;
        }
    }
    val[threadIdx.x] = acc;
    arg[threadIdx.x] = best;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) {
            float a = val[threadIdx.x];
            float b = val[threadIdx.x + stride];
            int ia = arg[threadIdx.x];
            int ib = arg[threadIdx.x + stride];
            if (op == REDUCE_SUM) {
                val[threadIdx.x] = a + b;
            } else {
                // NaN wins (max NaN, argmax the first NaN, as PyTorch); among NaNs or equals the lower index.
                bool nanA = a != a;
                bool nanB = b != b;
                bool takeB = nanB ? (!nanA || ib < ia) : (!nanA && (b > a || (b == a && ib < ia)));
                if (takeB) {
                    val[threadIdx.x] = b;
                    arg[threadIdx.x] = ib;
                }
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        if (op == REDUCE_ARGMAX) {
            ((int*) out)[outOffset + o] = arg[0];
        } else {
            ((float*) out)[outOffset + o] = val[0];
        }
    }
}
