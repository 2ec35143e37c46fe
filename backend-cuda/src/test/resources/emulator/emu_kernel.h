// Lets the kernel sources compile as host C++: the CUDA keywords become nothing (or `static` for __shared__, so
// that all threads of a block share the array; blocks run one after another), and threadIdx/blockIdx are
// thread-local, set by the emulated launch. __syncthreads is a real barrier among a block's threads.
#pragma once
#include <cmath>
#include <cstring>
#include <mutex>

struct EmuDim3 {
    unsigned x = 1, y = 1, z = 1;
};
extern thread_local EmuDim3 threadIdx;
extern thread_local EmuDim3 blockIdx;
extern thread_local EmuDim3 blockDim;
extern thread_local EmuDim3 gridDim;
void __syncthreads();

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}

// One lock for every emulated atomic: a block's threads may run at the same time.
inline float atomicAdd(float* address, float value) {
    static std::mutex lock;
    std::lock_guard<std::mutex> guard(lock);
    float old = *address;
    *address = old + value;
    return old;
}
