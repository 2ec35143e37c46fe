// Fused optimizer updates with PyTorch's semantics (torch.optim.Adam / AdamW / SGD), one thread per parameter.

// One parameter's Adam update, written as the CPU backend's kernel: the host turns the hyper-parameters into
// decay = 1 - lr * weightDecay (AdamW, else 1), l2 = weightDecay (Adam, else 0), stepSize = lr / (1 - beta1^t) and
// invSqrtBc2 = 1 / sqrt(1 - beta2^t) in double precision. Host code can call it too (the test harness does).
__host__ __device__ __forceinline__ void gradus_adam_update(float* param, float grad, float* m, float* v, float decay,
                                                            float l2, float beta1, float beta2, float stepSize,
                                                            float invSqrtBc2, float eps) {
    float p = *param * decay;
    float g = grad + l2 * p;
    float mi = beta1 * *m + (1.f - beta1) * g;
    float vi = beta2 * *v + (1.f - beta2) * g * g;
    *m = mi;
    *v = vi;
    *param = p - stepSize * mi / (sqrtf(vi) * invSqrtBc2 + eps);
}

// One parameter's SGD update.
__host__ __device__ __forceinline__ void gradus_sgd_update(float* param, float grad, float* buf, float lr,
                                                           float momentum, float dampening, float weightDecay,
                                                           int nesterov, int firstStep) {
    float p = *param;
    float g = grad + weightDecay * p;
    if (momentum != 0.f) {
        float b = firstStep ? g : momentum * *buf + (1.f - dampening) * g;
        *buf = b;
        g = nesterov ? g + momentum * b : b;
    }
    *param = p - lr * g;
}

extern "C" __global__ void gradus_adam_step(float* param, const float* grad, float* m, float* v, long long n,
                                            float decay, float l2, float beta1, float beta2, float stepSize,
                                            float invSqrtBc2, float eps) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        gradus_adam_update(&param[i], grad[i], &m[i], &v[i], decay, l2, beta1, beta2, stepSize, invSqrtBc2, eps);
    }
}

// SGD with momentum, dampening, weight decay and Nesterov; on the first step the buffer is set to the gradient.
extern "C" __global__ void gradus_sgd_step(float* param, const float* grad, float* buf, long long n, float lr,
                                           float momentum, float dampening, float weightDecay, int nesterov,
                                           int firstStep) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        gradus_sgd_update(&param[i], grad[i], &buf[i], lr, momentum, dampening, weightDecay, nesterov, firstStep);
    }
}
