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

// The op codes (UNARY_*, BINARY_*, REDUCE_*, POOL_*) are the ordinals of the SPI enums, written here by
// CudaKernels.header() when the sources are assembled for NVRTC: declared once, in Java.
// @GRADUS_OP_CODES@

