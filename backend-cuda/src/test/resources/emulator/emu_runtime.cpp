// The emulated CUDA runtime (built as libcudart.so.13): the functions the backend and its probe call, with the C
// signatures of cuda_runtime_api.h (cudaError_t is an int, streams are opaque pointers). One device, sm_90.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "emu.h"

namespace {
std::mutex pinnedLock;
std::set<uintptr_t> pinned;
thread_local int lastError = 0;

int fail(int err) {
    lastError = err;
    return err;
}
}  // namespace

extern "C" {

int cudaRuntimeGetVersion(int* v) {
    *v = 13000;
    return 0;
}

int cudaDriverGetVersion(int* v) {
    *v = 13000;
    return 0;
}

int cudaGetDeviceCount(int* n) {
    *n = 1;
    return 0;
}

int cudaSetDevice(int device) {
    return device == 0 ? 0 : fail(101);  // cudaErrorInvalidDevice
}

int cudaDeviceGetAttribute(int* value, int attr, int device) {
    if (device != 0) {
        return fail(101);
    }
    switch (attr) {
        case 75: *value = 9; return 0;  // cudaDevAttrComputeCapabilityMajor
        case 76: *value = 0; return 0;  // cudaDevAttrComputeCapabilityMinor
        default: return fail(EMU_INVALID_VALUE);
    }
}

const char* cudaGetErrorName(int err) {
    switch (err) {
        case 0: return "cudaSuccess";
        case 1: return "cudaErrorInvalidValue";
        case 2: return "cudaErrorMemoryAllocation";
        case 17: return "cudaErrorInvalidDevicePointer";
        case 101: return "cudaErrorInvalidDevice";
        case 700: return "cudaErrorIllegalAddress";
        case 719: return "cudaErrorLaunchFailure";
        default: return "cudaErrorUnknown";
    }
}

const char* cudaGetErrorString(int err) {
    switch (err) {
        case 0: return "no error";
        case 700: return "an illegal memory access was encountered (emulator: see its message on stderr)";
        case 719: return "unspecified launch failure (emulator: see its message on stderr)";
        default: return "emulated CUDA error";
    }
}

int cudaGetLastError() {
    int e = lastError;
    lastError = 0;
    return e;
}

int cudaStreamCreate(void** stream) {
    static int theStream;
    *stream = &theStream;
    return 0;
}

int cudaStreamSynchronize(void* stream) {
    (void) stream;
    int err = gradus_emu_synchronize();
    return err == 0 ? 0 : fail(err);
}

int cudaMalloc(void** p, size_t bytes) {
    if (p == nullptr) {
        return fail(EMU_INVALID_VALUE);
    }
    // An emulated 1 GiB limit for a single allocation, so that "out of memory" paths can be taken.
    void* d = bytes > (size_t(1) << 30) ? nullptr : gradus_emu_device_malloc(bytes);
    if (d == nullptr) {
        return fail(EMU_MEMORY_ALLOCATION);
    }
    *p = d;
    return 0;
}

int cudaFree(void* p) {
    if (p == nullptr) {
        return 0;
    }
    gradus_emu_synchronize();  // cudaFree waits for the device, as the real one does
    return gradus_emu_device_free(p) ? 0 : fail(EMU_INVALID_DEVICE_POINTER);
}

int cudaMallocHost(void** p, size_t bytes) {
    void* h = std::malloc(bytes == 0 ? 1 : bytes);
    if (h == nullptr) {
        return fail(EMU_MEMORY_ALLOCATION);
    }
    std::lock_guard<std::mutex> l(pinnedLock);
    pinned.insert(reinterpret_cast<uintptr_t>(h));
    *p = h;
    return 0;
}

int cudaFreeHost(void* p) {
    gradus_emu_synchronize();
    {
        std::lock_guard<std::mutex> l(pinnedLock);
        if (pinned.erase(reinterpret_cast<uintptr_t>(p)) == 0) {
            return fail(EMU_INVALID_VALUE);
        }
    }
    std::free(p);
    return 0;
}

// kind: 1 host -> device, 2 device -> host, 3 device -> device. Copies run on the stream, after earlier work and
// without waiting; the host side must stay untouched until the stream is synchronised, as with pinned memory.
int cudaMemcpyAsync(void* dst, const void* src, size_t bytes, int kind, void* stream) {
    (void) stream;
    if (bytes == 0) {
        return 0;
    }
    bool srcDevice = kind == 2 || kind == 3;
    bool dstDevice = kind == 1 || kind == 3;
    if (kind < 1 || kind > 3 || (srcDevice != gradus_emu_on_device(src, bytes))
        || (dstDevice != gradus_emu_on_device(dst, bytes))) {
        std::fprintf(stderr, "gradus CUDA emulator: cudaMemcpyAsync kind %d of %zu bytes from %p to %p: a pointer "
                     "is not where the kind says (or the range runs past its allocation)\n", kind, bytes, src, dst);
        return fail(EMU_INVALID_VALUE);
    }
    gradus_emu_enqueue([dst, src, bytes] { std::memcpy(dst, src, bytes); });
    return 0;
}

// Events: recorded on the stream, complete when the stream reaches them.
struct EmuEvent {
    std::atomic<long> recorded{0};  // records made by the host
    std::atomic<long> reached{0};   // records the stream has passed
    bool done() const { return reached.load() == recorded.load(); }
};

int cudaEventCreateWithFlags(void** event, unsigned flags) {
    (void) flags;
    *event = new EmuEvent();
    return 0;
}

int cudaEventRecord(void* event, void* stream) {
    (void) stream;
    EmuEvent* e = static_cast<EmuEvent*>(event);
    long n = ++e->recorded;
    gradus_emu_enqueue([e, n] { e->reached = n; });
    return 0;
}

int cudaEventQuery(void* event) {
    int err = gradus_emu_error();
    if (err != 0) {
        return fail(err);
    }
    return static_cast<EmuEvent*>(event)->done() ? 0 : 600;  // cudaErrorNotReady, which is not an error
}

int cudaEventSynchronize(void* event) {
    EmuEvent* e = static_cast<EmuEvent*>(event);
    int err = gradus_emu_wait_for([e] { return e->done(); });
    return err == 0 ? 0 : fail(err);
}

}  // extern "C"
