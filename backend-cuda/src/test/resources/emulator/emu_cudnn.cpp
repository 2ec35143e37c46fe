// The emulated cuDNN, built four times as cuDNN 9's libraries (PART_GRAPH, PART_OPS, PART_CNN, PART_ADV), each
// with the functions the real one exports: NCHW float convolution forward/backward with padding, stride,
// dilation and groups, bias, and the _v7 algorithm queries. Shapes are checked as cuDNN checks them
// (CUDNN_STATUS_BAD_PARAM), and every tensor's range against device memory.
#include <cstdio>
#include <string>
#include <vector>

#include "emu.h"

namespace {
enum { OK = 0, BAD_PARAM = 2000, NOT_SUPPORTED = 3000 };

struct Tensor {
    int n = 0, c = 0, h = 0, w = 0;
    bool set = false;
    size_t bytes() const { return (size_t) n * c * h * w * sizeof(float); }
};

struct Filter {
    int k = 0, c = 0, h = 0, w = 0;
    bool set = false;
    size_t bytes() const { return (size_t) k * c * h * w * sizeof(float); }
};

struct Conv {
    int padH = 0, padW = 0, strideH = 1, strideW = 1, dilH = 1, dilW = 1, mode = 1, groups = 1, math = 0;
    bool set = false;
};

struct Perf {
    int algo;
    int status;
    float time;
    size_t memory;
    int determinism;
    int mathType;
    int reserved[3];
};

// The workspace each emulated algorithm asks for, so that the backend's workspace path is exercised.
const size_t WORKSPACE = 4096;

bool consistent(const Tensor& x, const Filter& f, const Conv& cv, const Tensor& y) {
    if (!x.set || !f.set || !cv.set || !y.set || cv.groups < 1 || x.c != f.c * cv.groups || f.k % cv.groups != 0
        || y.n != x.n || y.c != f.k) {
        return false;
    }
    int oh = (x.h + 2 * cv.padH - cv.dilH * (f.h - 1) - 1) / cv.strideH + 1;
    int ow = (x.w + 2 * cv.padW - cv.dilW * (f.w - 1) - 1) / cv.strideW + 1;
    return oh == y.h && ow == y.w && oh > 0 && ow > 0;
}

int query(const Tensor& x, const Filter& f, const Conv& cv, const Tensor& y, int requested, int* returned,
          Perf* perf, const char* what) {
    if (!consistent(x, f, cv, y) || requested < 1) {
        std::fprintf(stderr, "gradus CUDA emulator: %s: descriptors do not agree\n", what);
        return BAD_PARAM;
    }
    // The first algorithm is reported unsupported, so the caller must pick the first one that succeeds.
    int n = requested < 2 ? requested : 2;
    for (int i = 0; i < n; i++) {
        perf[i] = Perf{i, i == 0 && n > 1 ? NOT_SUPPORTED : OK, 1.f, WORKSPACE, 1, cv.math, {0, 0, 0}};
    }
    *returned = n;
    return OK;
}

void blend(float* out, size_t i, float alpha, float acc, float beta) {
    out[i] = beta == 0.f ? alpha * acc : alpha * acc + beta * out[i];
}

void requireWorkspace(void* ws, size_t bytes, const std::string& what) {
    if (bytes < WORKSPACE) {
        throw EmuError(EMU_INVALID_VALUE, what + ": workspace of " + std::to_string(bytes) + " bytes, needs "
                                              + std::to_string(WORKSPACE));
    }
    gradus_emu_require_device(ws, WORKSPACE, what + ": workspace");
}

// Index of the input pixel a filter tap reads, or -1 in the padding.
inline int tap(int o, int kpos, int kextent, int stride, int pad, int dil, int mode, int extent) {
    int kk = mode == 0 ? kextent - 1 - kpos : kpos;  // CUDNN_CONVOLUTION flips the filter
    int i = o * stride - pad + kk * dil;
    return i < 0 || i >= extent ? -1 : i;
}

// Calls visit(xIndex, wIndex, yIndex) for every product term of the convolution y = x * w (groups included),
// in a fixed order; forward, backward-data and backward-filter each sum a different index over it.
template <typename Visit>
void forEachTerm(const Tensor& x, const Filter& f, const Conv& cv, const Tensor& y, Visit visit) {
    int kPerGroup = f.k / cv.groups;
    for (int n = 0; n < y.n; n++)
        for (int k = 0; k < y.c; k++) {
            int g = k / kPerGroup;
            for (int oy = 0; oy < y.h; oy++)
                for (int ox = 0; ox < y.w; ox++) {
                    size_t yi = (((size_t) n * y.c + k) * y.h + oy) * y.w + ox;
                    for (int c = 0; c < f.c; c++)
                        for (int r = 0; r < f.h; r++) {
                            int iy = tap(oy, r, f.h, cv.strideH, cv.padH, cv.dilH, cv.mode, x.h);
                            if (iy < 0) continue;
                            for (int s = 0; s < f.w; s++) {
                                int ix = tap(ox, s, f.w, cv.strideW, cv.padW, cv.dilW, cv.mode, x.w);
                                if (ix < 0) continue;
                                visit((((size_t) n * x.c + g * f.c + c) * x.h + iy) * x.w + ix,
                                      (((size_t) k * f.c + c) * f.h + r) * f.w + s, yi);
                            }
                        }
                }
        }
}
}  // namespace

extern "C" {

#ifdef PART_GRAPH
int cudnnCreate(void** handle) {
    static int theHandle;
    *handle = &theHandle;
    return OK;
}

int cudnnSetStream(void* handle, void* stream) {
    (void) handle;
    (void) stream;
    return OK;
}

const char* cudnnGetErrorString(int status) {
    switch (status) {
        case OK: return "CUDNN_STATUS_SUCCESS";
        case BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
        case NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
        default: return "CUDNN_STATUS (emulated)";
    }
}
#endif

#ifdef PART_OPS
int cudnnCreateTensorDescriptor(Tensor** d) {
    *d = new Tensor();
    return OK;
}

int cudnnSetTensor4dDescriptor(Tensor* d, int format, int dtype, int n, int c, int h, int w) {
    if (format != 0 || dtype != 0) {
        return NOT_SUPPORTED;  // the emulator knows NCHW float only
    }
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0) {
        return BAD_PARAM;
    }
    *d = Tensor{n, c, h, w, true};
    return OK;
}

int cudnnCreateFilterDescriptor(Filter** d) {
    *d = new Filter();
    return OK;
}

int cudnnSetFilter4dDescriptor(Filter* d, int dtype, int format, int k, int c, int h, int w) {
    if (format != 0 || dtype != 0) {
        return NOT_SUPPORTED;
    }
    if (k <= 0 || c <= 0 || h <= 0 || w <= 0) {
        return BAD_PARAM;
    }
    *d = Filter{k, c, h, w, true};
    return OK;
}

// C = alpha A + beta C, A broadcast over C where its dimension is 1.
int cudnnAddTensor(void* handle, const float* alpha, const Tensor* aDesc, const float* A, const float* beta,
                   const Tensor* cDesc, float* C) {
    (void) handle;
    Tensor a = *aDesc;
    Tensor c = *cDesc;
    if (!a.set || !c.set || (a.n != 1 && a.n != c.n) || (a.c != 1 && a.c != c.c) || (a.h != 1 && a.h != c.h)
        || (a.w != 1 && a.w != c.w)) {
        return BAD_PARAM;
    }
    float al = *alpha;
    float be = *beta;
    gradus_emu_enqueue([=] {
        gradus_emu_require_device(A, a.bytes(), "cudnnAddTensor A");
        gradus_emu_require_device(C, c.bytes(), "cudnnAddTensor C");
        for (int n = 0; n < c.n; n++)
            for (int ch = 0; ch < c.c; ch++)
                for (int y = 0; y < c.h; y++)
                    for (int x = 0; x < c.w; x++) {
                        size_t ai = (((size_t) (a.n == 1 ? 0 : n) * a.c + (a.c == 1 ? 0 : ch)) * a.h
                                     + (a.h == 1 ? 0 : y)) * a.w + (a.w == 1 ? 0 : x);
                        size_t ci = (((size_t) n * c.c + ch) * c.h + y) * c.w + x;
                        blend(C, ci, al, A[ai], be);
                    }
    });
    return OK;
}
#endif

#ifdef PART_CNN
int cudnnCreateConvolutionDescriptor(Conv** d) {
    *d = new Conv();
    return OK;
}

int cudnnSetConvolution2dDescriptor(Conv* d, int padH, int padW, int u, int v, int dilH, int dilW, int mode,
                                    int computeType) {
    if (padH < 0 || padW < 0 || u <= 0 || v <= 0 || dilH <= 0 || dilW <= 0 || (mode != 0 && mode != 1)) {
        return BAD_PARAM;
    }
    if (computeType != 0) {
        return NOT_SUPPORTED;
    }
    int groups = d->groups;
    int math = d->math;
    *d = Conv{padH, padW, u, v, dilH, dilW, mode, groups, math, true};
    return OK;
}

int cudnnSetConvolutionGroupCount(Conv* d, int groups) {
    if (groups < 1) {
        return BAD_PARAM;
    }
    d->groups = groups;
    return OK;
}

int cudnnSetConvolutionMathType(Conv* d, int math) {
    d->math = math;
    return OK;
}

int cudnnGetConvolutionForwardAlgorithm_v7(void* handle, const Tensor* x, const Filter* w, const Conv* cv,
                                           const Tensor* y, int requested, int* returned, Perf* perf) {
    (void) handle;
    return query(*x, *w, *cv, *y, requested, returned, perf, "forward algorithm query");
}

int cudnnGetConvolutionBackwardDataAlgorithm_v7(void* handle, const Filter* w, const Tensor* dy, const Conv* cv,
                                                const Tensor* dx, int requested, int* returned, Perf* perf) {
    (void) handle;
    return query(*dx, *w, *cv, *dy, requested, returned, perf, "backward-data algorithm query");
}

int cudnnGetConvolutionBackwardFilterAlgorithm_v7(void* handle, const Tensor* x, const Tensor* dy, const Conv* cv,
                                                  const Filter* dw, int requested, int* returned, Perf* perf) {
    (void) handle;
    return query(*x, *dw, *cv, *dy, requested, returned, perf, "backward-filter algorithm query");
}

}  // extern "C"

namespace {
// One convolution pass, as cuDNN runs it: the descriptors and algorithm checked at the call, then on the stream the
// workspace and the three buffers checked, `term(acc, xi, wi, yi)` summed over every product term into a buffer the
// size of the output, and the output blended as alpha * sum + beta * out.
template <typename Term>
int convPass(const char* what, const Tensor& x, const Filter& f, const Conv& cv, const Tensor& y, int algo, void* ws,
             size_t wsBytes, const float* alpha, const float* beta, const void* in1, size_t in1Bytes,
             const void* in2, size_t in2Bytes, float* out, size_t outCount, Term term) {
    if (!consistent(x, f, cv, y) || algo != 1) {
        return BAD_PARAM;
    }
    float al = *alpha;
    float be = *beta;
    std::string name = what;
    gradus_emu_enqueue([=] {
        requireWorkspace(ws, wsBytes, name);
        gradus_emu_require_device(in1, in1Bytes, name + " first input");
        gradus_emu_require_device(in2, in2Bytes, name + " second input");
        gradus_emu_require_device(out, outCount * sizeof(float), name + " output");
        std::vector<float> acc(outCount, 0.f);
        forEachTerm(x, f, cv, y, [&](size_t xi, size_t wi, size_t yi) { term(acc, xi, wi, yi); });
        for (size_t i = 0; i < outCount; i++) blend(out, i, al, acc[i], be);
    });
    return OK;
}
}  // namespace

extern "C" {

int cudnnConvolutionForward(void* handle, const float* alpha, const Tensor* xDesc, const float* X,
                            const Filter* wDesc, const float* W, const Conv* convDesc, int algo, void* ws,
                            size_t wsBytes, const float* beta, const Tensor* yDesc, float* Y) {
    (void) handle;
    Tensor y = *yDesc;
    return convPass("cudnnConvolutionForward", *xDesc, *wDesc, *convDesc, y, algo, ws, wsBytes, alpha, beta, X,
                    xDesc->bytes(), W, wDesc->bytes(), Y, y.bytes() / sizeof(float),
                    [X, W](std::vector<float>& acc, size_t xi, size_t wi, size_t yi) { acc[yi] += X[xi] * W[wi]; });
}

int cudnnConvolutionBackwardData(void* handle, const float* alpha, const Filter* wDesc, const float* W,
                                 const Tensor* dyDesc, const float* dY, const Conv* convDesc, int algo, void* ws,
                                 size_t wsBytes, const float* beta, const Tensor* dxDesc, float* dX) {
    (void) handle;
    Tensor x = *dxDesc;
    return convPass("cudnnConvolutionBackwardData", x, *wDesc, *convDesc, *dyDesc, algo, ws, wsBytes, alpha, beta,
                    W, wDesc->bytes(), dY, dyDesc->bytes(), dX, x.bytes() / sizeof(float),
                    [dY, W](std::vector<float>& acc, size_t xi, size_t wi, size_t yi) { acc[xi] += dY[yi] * W[wi]; });
}

int cudnnConvolutionBackwardFilter(void* handle, const float* alpha, const Tensor* xDesc, const float* X,
                                   const Tensor* dyDesc, const float* dY, const Conv* convDesc, int algo, void* ws,
                                   size_t wsBytes, const float* beta, const Filter* dwDesc, float* dW) {
    (void) handle;
    Filter f = *dwDesc;
    return convPass("cudnnConvolutionBackwardFilter", *xDesc, f, *convDesc, *dyDesc, algo, ws, wsBytes, alpha, beta,
                    X, xDesc->bytes(), dY, dyDesc->bytes(), dW, f.bytes() / sizeof(float),
                    [dY, X](std::vector<float>& acc, size_t xi, size_t wi, size_t yi) { acc[wi] += dY[yi] * X[xi]; });
}

// db[c] = alpha * sum over n, h, w of dy + beta * db[c]; db is a [1, C, 1, 1] tensor.
int cudnnConvolutionBackwardBias(void* handle, const float* alpha, const Tensor* dyDesc, const float* dY,
                                 const float* beta, const Tensor* dbDesc, float* dB) {
    (void) handle;
    Tensor y = *dyDesc;
    Tensor b = *dbDesc;
    if (!y.set || !b.set || b.n != 1 || b.c != y.c || b.h != 1 || b.w != 1) {
        return BAD_PARAM;
    }
    float al = *alpha;
    float be = *beta;
    gradus_emu_enqueue([=] {
        gradus_emu_require_device(dY, y.bytes(), "cudnnConvolutionBackwardBias dy");
        gradus_emu_require_device(dB, b.bytes(), "cudnnConvolutionBackwardBias db");
        for (int c = 0; c < y.c; c++) {
            float acc = 0.f;
            for (int n = 0; n < y.n; n++)
                for (size_t i = 0; i < (size_t) y.h * y.w; i++) acc += dY[((size_t) n * y.c + c) * y.h * y.w + i];
            blend(dB, c, al, acc, be);
        }
    });
    return OK;
}
#endif

#ifdef PART_NONE
// Built as libcublasLt.so.13, which the cuBLAS wrapper links but the backend never calls.
int gradus_emu_cublas_lt() {
    return OK;
}
#endif

#ifdef PART_ADV
// Nothing of cudnn_adv is called; the library only has to exist with its version.
int gradus_emu_cudnn_adv() {
    return OK;
}
#endif

}  // extern "C"
