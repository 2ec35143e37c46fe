// Batch normalisation over a dense [n, c, hw] block, one block of threads per channel: the batch mean and biased
// variance normalise, the running variance is updated unbiased (as PyTorch), and sums use a fixed order.
#include "common.cuh"

#define GRADUS_BN_THREADS 256

__device__ double gradus_bn_block_sum(double v, double* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
        __syncthreads();
    }
    double r = shared[0];
    __syncthreads();
    return r;
}

// gamma, beta, runningMean and runningVar may be null.
extern "C" __global__ void gradus_bn_train(const float* x, int n, int c, int hw, const float* gamma,
                                           const float* beta, float eps, float momentum, float* runningMean,
                                           float* runningVar, float* out, float* saveMean, float* saveInvStd) {
    __shared__ double shared[GRADUS_BN_THREADS];
    int ch = blockIdx.x;
    if (ch >= c) return;
    long long m = (long long) n * hw;
    double s = 0.0;
    for (long long j = threadIdx.x; j < m; j += blockDim.x) {
        s += x[((j / hw) * c + ch) * hw + j % hw];
    }
    double mean = gradus_bn_block_sum(s, shared) / (double) m;
    double q = 0.0;
    for (long long j = threadIdx.x; j < m; j += blockDim.x) {
        double d = x[((j / hw) * c + ch) * hw + j % hw] - mean;
        q += d * d;
    }
    double var = gradus_bn_block_sum(q, shared) / (double) m;
    float invStd = (float) (1.0 / sqrt(var + (double) eps));
    float gm = gamma ? gamma[ch] : 1.f;
    float bt = beta ? beta[ch] : 0.f;
    float scale = gm * invStd;
    float shift = bt - (float) mean * scale;
    for (long long j = threadIdx.x; j < m; j += blockDim.x) {
        long long at = ((j / hw) * c + ch) * hw + j % hw;
        out[at] = x[at] * scale + shift;
    }
    if (threadIdx.x == 0) {
        saveMean[ch] = (float) mean;
        saveInvStd[ch] = invStd;
        if (runningMean) {
            double unbiased = m > 1 ? var * (double) m / (double) (m - 1) : var;
            runningMean[ch] = (float) ((1.0 - momentum) * runningMean[ch] + momentum * mean);
            runningVar[ch] = (float) ((1.0 - momentum) * runningVar[ch] + momentum * unbiased);
        }
    }
}

// dx = gamma * invStd * (dOut - mean(dOut) - xhat * mean(dOut * xhat)); dGamma, dBeta (may be null) per channel.
extern "C" __global__ void gradus_bn_backward(const float* x, const float* dOut, int n, int c, int hw,
                                              const float* gamma, const float* saveMean, const float* saveInvStd,
                                              float* dx, float* dGamma, float* dBeta) {
    __shared__ double shared[GRADUS_BN_THREADS];
    int ch = blockIdx.x;
    if (ch >= c) return;
    long long m = (long long) n * hw;
    float mean = saveMean[ch];
    float invStd = saveInvStd[ch];
    double sd = 0.0;
    double sdx = 0.0;
    for (long long j = threadIdx.x; j < m; j += blockDim.x) {
        long long at = ((j / hw) * c + ch) * hw + j % hw;
        float d = dOut[at];
        sd += d;
        sdx += d * (x[at] - mean) * invStd;
    }
    double sumD = gradus_bn_block_sum(sd, shared);
    double sumDX = gradus_bn_block_sum(sdx, shared);
    float k1 = (gamma ? gamma[ch] : 1.f) * invStd;
    float meanD = (float) (sumD / (double) m);
    float meanDX = (float) (sumDX / (double) m);
    for (long long j = threadIdx.x; j < m; j += blockDim.x) {
        long long at = ((j / hw) * c + ch) * hw + j % hw;
        float xhat = (x[at] - mean) * invStd;
        dx[at] = k1 * (dOut[at] - meanD - xhat * meanDX);
    }
    if (threadIdx.x == 0) {
        if (dGamma) dGamma[ch] = (float) sumDX;
        if (dBeta) dBeta[ch] = (float) sumD;
    }
}

// out[n, c, p] = x[n, c, p] * scale[c] + shift[c] over dense [n, c, hw]: batch norm in evaluation mode.
extern "C" __global__ void gradus_channel_affine(const float* x, int n, int c, int hw, const float* scale,
                                                 const float* shift, float* out) {
    long long total = (long long) n * c * hw;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < total;
         i += (long long) gridDim.x * blockDim.x) {
        int ch = (int) ((i / hw) % c);
        out[i] = x[i] * scale[ch] + shift[ch];
    }
}
