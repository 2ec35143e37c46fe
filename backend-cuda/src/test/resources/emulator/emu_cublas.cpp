// The emulated cuBLAS (built as libcublas.so.13): column-major SGEMM with cuBLAS' argument checks, and the
// ranges it reads and writes checked against device memory, so that a wrong leading dimension or offset fails.
#include <cstdio>
#include <string>

#include "emu.h"

namespace {
struct Handle {
    void* stream = nullptr;
    int mathMode = 0;
};

// Bytes spanned by a column-major rows x cols matrix with leading dimension ld.
size_t span(int rows, int cols, int ld) {
    return rows == 0 || cols == 0 ? 0 : ((size_t) (cols - 1) * ld + rows) * sizeof(float);
}
}  // namespace

extern "C" {

int cublasCreate_v2(void** handle) {
    *handle = new Handle();
    return 0;
}

int cublasSetStream_v2(void* handle, void* stream) {
    static_cast<Handle*>(handle)->stream = stream;
    return 0;
}

int cublasSetMathMode(void* handle, int mode) {
    static_cast<Handle*>(handle)->mathMode = mode;
    return 0;
}

// C = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) k x n, C m x n, all column-major. alpha and beta are read
// from host memory at the call (the default pointer mode).
int cublasSgemm_v2(void* handle, int transa, int transb, int m, int n, int k, const float* alpha, const float* A,
                   int lda, const float* B, int ldb, const float* beta, float* C, int ldc) {
    if (handle == nullptr) {
        return 1;  // CUBLAS_STATUS_NOT_INITIALIZED
    }
    bool ta = transa == 1;
    bool tb = transb == 1;
    int aRows = ta ? k : m;
    int bRows = tb ? n : k;
    if ((transa != 0 && transa != 1) || (transb != 0 && transb != 1) || m < 0 || n < 0 || k < 0
        || lda < (aRows > 1 ? aRows : 1) || ldb < (bRows > 1 ? bRows : 1) || ldc < (m > 1 ? m : 1)) {
        std::fprintf(stderr, "gradus CUDA emulator: cublasSgemm invalid value: trans %d %d, m %d n %d k %d, "
                     "lda %d ldb %d ldc %d\n", transa, transb, m, n, k, lda, ldb, ldc);
        return 7;  // CUBLAS_STATUS_INVALID_VALUE
    }
    float a = *alpha;
    float b = *beta;
    size_t aBytes = span(aRows, ta ? m : k, lda);
    size_t bBytes = span(bRows, tb ? k : n, ldb);
    size_t cBytes = span(m, n, ldc);
    gradus_emu_enqueue([=] {
        std::string what = "cublasSgemm m " + std::to_string(m) + " n " + std::to_string(n) + " k "
                           + std::to_string(k);
        if (m == 0 || n == 0) {
            return;
        }
        if (k > 0 && a != 0.f) {
            gradus_emu_require_device(A, aBytes, what + ": A");
            gradus_emu_require_device(B, bBytes, what + ": B");
        }
        gradus_emu_require_device(C, cBytes, what + ": C");
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                float acc = 0.f;
                for (int p = 0; p < k; p++) {
                    float x = ta ? A[p + (size_t) i * lda] : A[i + (size_t) p * lda];
                    float y = tb ? B[j + (size_t) p * ldb] : B[p + (size_t) j * ldb];
                    acc += x * y;
                }
                float& c = C[i + (size_t) j * ldc];
                // With beta 0, C is not read (it may hold NaN), as in cuBLAS.
                c = b == 0.f ? a * acc : a * acc + b * c;
            }
        }
    });
    return 0;
}

}  // extern "C"
