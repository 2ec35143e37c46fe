// Runs the kernels' per-element code on the CPU, so that a machine without a GPU can check it against Java
// references (CudaHostHarnessTest). Reads a mode and numbers on stdin, prints results one per line.
#include <cstdio>
#include <cstring>
#include <cstddef>
#include <cmath>
#include "common.cuh"
#include "elementwise.cu"
#include "pool.cu"

static void print(float v) { printf("%.9g\n", v); }

int main() {
    char mode[32];
    if (scanf("%31s", mode) != 1) return 2;
    if (!strcmp(mode, "struct")) {
        printf("%d %d %d %d %d\n", (int) sizeof(Layout), (int) offsetof(Layout, rank), (int) offsetof(Layout, offset),
               (int) offsetof(Layout, shape), (int) offsetof(Layout, strides));
    } else if (!strcmp(mode, "unary")) {
        int op, n; float s;
        scanf("%d %f %d", &op, &s, &n);
        for (int i = 0; i < n; i++) { float x; scanf("%f", &x); print(gradus_unary_op(op, x, s)); }
    } else if (!strcmp(mode, "binary")) {
        int op, n;
        scanf("%d %d", &op, &n);
        for (int i = 0; i < n; i++) { float a, b; scanf("%f %f", &a, &b); print(gradus_binary_op(op, a, b)); }
    } else if (!strcmp(mode, "layout")) {
        // A packed struct Layout as 112 hex bytes, then the output rank and shape: prints each element's index.
        Layout l;
        unsigned char* raw = (unsigned char*) &l;
        for (int i = 0; i < (int) sizeof(Layout); i++) { unsigned v; scanf("%2x", &v); raw[i] = (unsigned char) v; }
        int rank; scanf("%d", &rank);
        int shape[GRADUS_MAX_RANK]; long long n = 1;
        for (int d = 0; d < rank; d++) { scanf("%d", &shape[d]); n *= shape[d]; }
        for (long long i = 0; i < n; i++) printf("%lld\n", gradus_at(l, shape, rank, i));
    } else if (!strcmp(mode, "pool")) {
        int op, h, w, kh, kw, sh, sw, ph, pw;
        scanf("%d %d %d %d %d %d %d %d %d", &op, &h, &w, &kh, &kw, &sh, &sw, &ph, &pw);
        float in[4096];
        for (int i = 0; i < h * w; i++) scanf("%f", &in[i]);
        int oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float v; int a;
                gradus_pool_one(op, in, h, w, y, x, kh, kw, sh, sw, ph, pw, &v, &a);
                printf("%.9g %d\n", v, a);
            }
    } else if (!strcmp(mode, "poolgrad")) {
        // forward as above, then dOut = 1 + index for every output, then the gradient of every input element
        int op, h, w, kh, kw, sh, sw, ph, pw;
        scanf("%d %d %d %d %d %d %d %d %d", &op, &h, &w, &kh, &kw, &sh, &sw, &ph, &pw);
        float in[4096], g[4096];
        int am[4096];
        for (int i = 0; i < h * w; i++) scanf("%f", &in[i]);
        int oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float v;
                gradus_pool_one(op, in, h, w, y, x, kh, kw, sh, sw, ph, pw, &v, &am[y * ow + x]);
                g[y * ow + x] = 1.f + (float) (y * ow + x);
            }
        for (int yy = 0; yy < h; yy++)
            for (int xx = 0; xx < w; xx++)
                print(gradus_pool_grad_one(op, g, am, h, w, yy, xx, oh, ow, kh, kw, sh, sw, ph, pw));
    } else {
        return 3;
    }
    return 0;
}
