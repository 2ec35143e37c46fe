// Shared by every Gradus kernel: the strided-layout walk and the op codes, which must match the ordinals of
// dev.gradus.spi.UnaryOp / BinaryOp / ReduceOp (CudaKernelSourcesTest checks them).
#pragma once

#define GRADUS_MAX_RANK 8

// A view of a storage: element (i0, ..., i{rank-1}) lives at offset + sum(i_d * strides[d]).
struct Layout {
    int rank;
    long long offset;
    int shape[GRADUS_MAX_RANK];
    long long strides[GRADUS_MAX_RANK];
};

// Storage index of the flat, row-major element `flat` of `shape`, read through `l` (which may broadcast with
// zero strides). Host code can call it too: the test harness checks it on the CPU.
__host__ __device__ __forceinline__ long long gradus_at(const Layout& l, const int* shape, int rank, long long flat) {
    long long idx = l.offset;
    for (int d = rank - 1; d >= 0; --d) {
        long long c = flat % shape[d];
        flat /= shape[d];
        idx += c * l.strides[d];
    }
    return idx;
}

#define UNARY_IDENTITY 0
#define UNARY_NEG 1
#define UNARY_EXP 2
#define UNARY_LOG 3
#define UNARY_SQRT 4
#define UNARY_ABS 5
#define UNARY_RELU 6
#define UNARY_SIGMOID 7
#define UNARY_TANH 8
#define UNARY_ADD_SCALAR 9
#define UNARY_MUL_SCALAR 10
#define UNARY_POW_SCALAR 11
#define UNARY_RECIPROCAL 12
#define UNARY_GT_SCALAR 13

#define BINARY_ADD 0
#define BINARY_SUB 1
#define BINARY_MUL 2
#define BINARY_DIV 3
#define BINARY_MAXIMUM 4
#define BINARY_MINIMUM 5
#define BINARY_EQ 6
#define BINARY_RELU_GRAD 7
#define BINARY_SIGMOID_GRAD 8
#define BINARY_TANH_GRAD 9

#define REDUCE_SUM 0
#define REDUCE_MAX 1
#define REDUCE_MIN 2
#define REDUCE_ARGMAX 3
