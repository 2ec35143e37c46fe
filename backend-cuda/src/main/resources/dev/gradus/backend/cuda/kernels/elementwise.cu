// Elementwise kernels: one thread per output element, grid-stride loops, any strides on input and output.
#include "common.cuh"

__host__ __device__ __forceinline__ float gradus_unary_op(int op, float x, float s) {
    switch (op) {
        case UNARY_IDENTITY: return x;
        case UNARY_NEG: return -x;
        case UNARY_EXP: return expf(x);
        case UNARY_LOG: return logf(x);
        case UNARY_SQRT: return sqrtf(x);
        case UNARY_ABS: return fabsf(x);
        case UNARY_RELU: return x <= 0.f ? 0.f : x;  // NaN stays NaN, as torch.relu
        case UNARY_SIGMOID: return 1.f / (1.f + expf(-x));
        case UNARY_TANH: return tanhf(x);
        case UNARY_ADD_SCALAR: return x + s;
        case UNARY_MUL_SCALAR: return x * s;
        case UNARY_POW_SCALAR: return powf(x, s);
        case UNARY_GT_SCALAR: return x > s ? 1.f : 0.f;
        case UNARY_ERF: return erff(x);
        case UNARY_SIN: return sinf(x);
        case UNARY_COS: return cosf(x);
        default: return nanf("");  // an op code this source does not know
    }
}

__host__ __device__ __forceinline__ float gradus_binary_op(int op, float a, float b) {
    switch (op) {
        case BINARY_ADD: return a + b;
        case BINARY_SUB: return a - b;
        case BINARY_MUL: return a * b;
        case BINARY_DIV: return a / b;
        case BINARY_MAXIMUM: return a != a ? a : (b != b ? b : fmaxf(a, b));  // NaN wins, as torch.maximum
        case BINARY_MINIMUM: return a != a ? a : (b != b ? b : fminf(a, b));  // (fmaxf/fminf drop NaN)
        case BINARY_EQ: return a == b ? 1.f : 0.f;
        case BINARY_NE: return a != b ? 1.f : 0.f;
        case BINARY_GT: return a > b ? 1.f : 0.f;
        case BINARY_LT: return a < b ? 1.f : 0.f;
        case BINARY_GE: return a >= b ? 1.f : 0.f;
        case BINARY_LE: return a <= b ? 1.f : 0.f;
        case BINARY_MASK: return b != 0.f ? a : 0.f;
        case BINARY_RELU_GRAD: return b <= 0.f ? 0.f : a;  // threshold_backward: NaN passes
        case BINARY_SIGMOID_GRAD: return a * b * (1.f - b);
        case BINARY_TANH_GRAD: return a * (1.f - b * b);
        default: return nanf("");
    }
}

extern "C" __global__ void gradus_fill(float* out, Layout o, long long n, float value) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        out[gradus_at(o, o.shape, o.rank, i)] = value;
    }
}

extern "C" __global__ void gradus_fill_int(int* out, Layout o, long long n, int value) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        out[gradus_at(o, o.shape, o.rank, i)] = value;
    }
}

// Strided copy that converts between element types: mode 0 int -> float, 1 float -> int (truncating, as a Java
// cast), 2 int -> int.
extern "C" __global__ void gradus_convert(int mode, const void* x, Layout xl, void* out, Layout ol, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        long long src = gradus_at(xl, ol.shape, ol.rank, i);
        long long dst = gradus_at(ol, ol.shape, ol.rank, i);
        if (mode == 0) {
            ((float*) out)[dst] = (float) ((const int*) x)[src];
        } else if (mode == 1) {
            ((int*) out)[dst] = (int) ((const float*) x)[src];
        } else {
            ((int*) out)[dst] = ((const int*) x)[src];
        }
    }
}

// out = op(x, s); x and out share out's shape (x may broadcast through zero strides).
extern "C" __global__ void gradus_unary(int op, float s, const float* x, Layout xl, float* out, Layout ol,
                                        long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        out[gradus_at(ol, ol.shape, ol.rank, i)] = gradus_unary_op(op, x[gradus_at(xl, ol.shape, ol.rank, i)], s);
    }
}

// The common case without strides: contiguous in, contiguous out.
extern "C" __global__ void gradus_unary_dense(int op, float s, const float* x, float* out, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        out[i] = gradus_unary_op(op, x[i], s);
    }
}

// out = op(a, b) after broadcasting: al and bl carry out's rank with zero strides on broadcast dimensions.
extern "C" __global__ void gradus_binary(int op, const float* a, Layout al, const float* b, Layout bl, float* out,
                                         Layout ol, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        float va = a[gradus_at(al, ol.shape, ol.rank, i)];
        float vb = b[gradus_at(bl, ol.shape, ol.rank, i)];
        out[gradus_at(ol, ol.shape, ol.rank, i)] = gradus_binary_op(op, va, vb);
    }
}

extern "C" __global__ void gradus_binary_dense(int op, const float* a, const float* b, float* out, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        out[i] = gradus_binary_op(op, a[i], b[i]);
    }
}

// labels [n] (int) -> out [n, classes] one-hot; a label outside 0..classes-1 gives a zero row (the host checks
// labels before it calls this, so the message can name the bad label).
extern "C" __global__ void gradus_one_hot(const int* labels, int n, int classes, float* out) {
    long long total = (long long) n * classes;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < total;
         i += (long long) gridDim.x * blockDim.x) {
        int row = (int) (i / classes);
        int col = (int) (i % classes);
        out[i] = labels[row] == col ? 1.f : 0.f;
    }
}

// Gather (INDEX_GATHER: out[p] = x[p with p[axis] = index[p]]) or scatter-add (out[p with p[axis] = index[p]] +=
// x[p]) over every position p of index's shape. The host has checked the indices. Scatter targets can repeat,
// hence the atomic add.
extern "C" __global__ void gradus_index(int op, int axis, const float* x, Layout xl, const int* index, Layout il,
                                        float* out, Layout ol, long long n) {
    const Layout& a = op == INDEX_GATHER ? xl : ol;  // the tensor the indices address
    const Layout& w = op == INDEX_GATHER ? ol : xl;  // the one walked in step with index
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        long long rest = i;
        int along = 0;
        for (int d = il.rank - 1; d >= 0; --d) {
            if (d == axis) {
                along = (int) (rest % il.shape[d]);
            }
            rest /= il.shape[d];
        }
        int k = index[gradus_at(il, il.shape, il.rank, i)];
        long long at = gradus_at(a, il.shape, il.rank, i) + (long long) (k - along) * a.strides[axis];
        long long wi = gradus_at(w, il.shape, il.rank, i);
        if (op == INDEX_GATHER) {
            out[wi] = x[at];
        } else {
            atomicAdd(out + at, x[wi]);
        }
    }
}
