// The emulated CUDA driver (built as libcuda.so.1): the stream, device memory, and the three driver functions the
// backend calls (cuModuleLoadData, cuModuleGetFunction, cuLaunchKernel), which run Gradus' kernel sources compiled
// for the host. A test fixture: it checks the backend's own logic on a machine without a GPU, not NVIDIA's code.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <dlfcn.h>
#include <map>
#include <sys/mman.h>
#include <unistd.h>
#include <mutex>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "emu.h"
#include "emu_kernel.h"
#include "gradus_kernels.cu"

// ------------------------------------------------------------------------------------------------ the stream

namespace {
// Never destroyed: the detached worker waits on it until the process ends, and destroying a condition variable
// with a waiter blocks exit.
struct Stream {
    std::mutex lock;
    std::condition_variable changed;
    std::deque<std::function<void()>> queue;
    bool busy = false;
    int sticky = 0;
    bool workerStarted = false;
    int waiters = 0;  // host threads waiting for the stream
};

// The stream runs behind the host, as a GPU does when the host queues faster than it computes: work starts only
// when the host waits or a long queue has built up, so host code that reuses memory a queued copy still reads,
// or reads what a kernel has not yet written, gets wrong results here rather than by luck on a GPU.
const size_t LAG = 256;
Stream& stream() {
    static Stream* s = new Stream();
    return *s;
}

void worker() {
    Stream& st = stream();
    for (;;) {
        std::function<void()> work;
        {
            std::unique_lock<std::mutex> l(st.lock);
            st.changed.wait(l, [&] { return !st.queue.empty() && (st.waiters > 0 || st.queue.size() >= LAG); });
            work = std::move(st.queue.front());
            st.queue.pop_front();
            st.busy = true;
        }
        int err = 0;
        std::string what;
        if (gradus_emu_error() == 0) {
            try {
                work();
            } catch (const EmuError& e) {
                err = e.code;
                what = e.what();
            } catch (const std::exception& e) {
                err = EMU_LAUNCH_FAILURE;
                what = e.what();
            }
        }
        {
            std::lock_guard<std::mutex> l(st.lock);
            if (err != 0 && st.sticky == 0) {
                st.sticky = err;
                std::fprintf(stderr, "gradus CUDA emulator: error %d: %s\n", err, what.c_str());
            }
            st.busy = false;
        }
        st.changed.notify_all();
    }
}
}  // namespace

void gradus_emu_enqueue(std::function<void()> work) {
    Stream& st = stream();
    std::lock_guard<std::mutex> l(st.lock);
    if (!st.workerStarted) {
        st.workerStarted = true;
        std::thread(worker).detach();  // lives as long as the process, as a device does
    }
    st.queue.push_back(std::move(work));
    st.changed.notify_all();
}

int gradus_emu_synchronize() {
    Stream& st = stream();
    std::unique_lock<std::mutex> l(st.lock);
    st.waiters++;
    st.changed.notify_all();
    st.changed.wait(l, [&] { return st.queue.empty() && !st.busy; });
    st.waiters--;
    return st.sticky;
}

int gradus_emu_wait_for(const std::function<bool()>& done) {
    Stream& st = stream();
    std::unique_lock<std::mutex> l(st.lock);
    st.waiters++;
    st.changed.notify_all();
    st.changed.wait(l, [&] { return done() || (st.queue.empty() && !st.busy); });
    st.waiters--;
    return st.sticky;
}

int gradus_emu_error() {
    Stream& st = stream();
    std::lock_guard<std::mutex> l(st.lock);
    return st.sticky;
}

// ------------------------------------------------------------------------------------------------ device memory

namespace {
std::mutex& memoryLock() {
    static std::mutex* m = new std::mutex();
    return *m;
}
std::map<uintptr_t, size_t>& allocations() {  // start -> bytes
    static auto* a = new std::map<uintptr_t, size_t>();
    return *a;
}
}  // namespace

namespace {
struct Mapping {
    void* base;
    size_t length;
};
std::map<uintptr_t, Mapping>& mappings() {  // start -> the whole mapping, guard page included
    static auto* m = new std::map<uintptr_t, Mapping>();
    return *m;
}
}  // namespace

// Each allocation ends where an inaccessible page begins, so a kernel that reads or writes past the end of its
// (256-byte rounded) buffer faults at once, as a GPU reports an illegal address; the JVM then stops with an error
// file naming the kernel's frame.
void* gradus_emu_device_malloc(size_t bytes) {
    size_t rounded = bytes == 0 ? 256 : (bytes + 255) / 256 * 256;  // cudaMalloc's alignment
    size_t page = (size_t) sysconf(_SC_PAGESIZE);
    size_t data = (rounded + page - 1) / page * page;
    void* base = mmap(nullptr, data + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        return nullptr;
    }
    char* guard = static_cast<char*>(base) + data;
    mprotect(guard, page, PROT_NONE);
    char* p = guard - rounded;
    // Fresh device memory is garbage on a GPU; all-ones bytes read as NaN floats and -1 ints here, so code that
    // reads memory it never wrote shows up in results.
    std::memset(p, 0xff, rounded);
    std::lock_guard<std::mutex> l(memoryLock());
    allocations()[reinterpret_cast<uintptr_t>(p)] = bytes;
    mappings()[reinterpret_cast<uintptr_t>(p)] = Mapping{base, data + page};
    return p;
}

bool gradus_emu_device_free(void* p) {
    Mapping m;
    {
        std::lock_guard<std::mutex> l(memoryLock());
        if (allocations().erase(reinterpret_cast<uintptr_t>(p)) == 0) {
            return false;
        }
        m = mappings()[reinterpret_cast<uintptr_t>(p)];
        mappings().erase(reinterpret_cast<uintptr_t>(p));
    }
    munmap(m.base, m.length);
    return true;
}

bool gradus_emu_on_device(const void* p, size_t bytes) {
    uintptr_t a = reinterpret_cast<uintptr_t>(p);
    std::lock_guard<std::mutex> l(memoryLock());
    auto it = allocations().upper_bound(a);
    if (it == allocations().begin()) {
        return false;
    }
    --it;
    return a >= it->first && a + bytes <= it->first + it->second;
}

void gradus_emu_require_device(const void* p, size_t bytes, const std::string& what) {
    if (!gradus_emu_on_device(p, bytes)) {
        char buf[96];
        std::snprintf(buf, sizeof buf, " [%p, +%zu bytes) is not inside one device allocation", p, bytes);
        throw EmuError(EMU_ILLEGAL_ADDRESS, what + buf);
    }
}

// ------------------------------------------------------------------------------------------------ kernels

thread_local EmuDim3 threadIdx;
thread_local EmuDim3 blockIdx;
thread_local EmuDim3 blockDim;
thread_local EmuDim3 gridDim;

namespace {
// A block's threads run as fibers on the stream's worker thread: each runs until it reaches __syncthreads or ends,
// then the next one runs; when all have arrived the next phase starts. That is the barrier's meaning exactly, and
// costs a stack switch instead of an operating-system thread per GPU thread.
extern "C" void gradus_emu_switch(void** saveSp, void* loadSp);
asm(R"(
    .text
    .globl gradus_emu_switch
    .type gradus_emu_switch, @function
gradus_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size gradus_emu_switch, .-gradus_emu_switch
)");

const size_t FIBER_STACK = 64 * 1024;

struct Fiber {
    std::vector<char> stack = std::vector<char>(FIBER_STACK);
    void* sp = nullptr;
    bool done = false;
    EmuDim3 idx;
};

struct Block {
    std::vector<Fiber> fibers;
    void* schedulerSp = nullptr;
    Fiber* running = nullptr;
    const std::function<void()>* body = nullptr;
    int failCode = 0;
    std::string failure;
};

thread_local Block* currentBlock = nullptr;
thread_local const char* currentKernel = nullptr;

[[noreturn]] void fiberMain() {
    Block* b = currentBlock;
    Fiber* f = b->running;
    try {
        (*b->body)();
    } catch (const EmuError& e) {
        if (b->failCode == 0) {
            b->failCode = e.code;
            b->failure = e.what();
        }
    } catch (const std::exception& e) {
        if (b->failCode == 0) {
            b->failCode = EMU_LAUNCH_FAILURE;
            b->failure = e.what();
        }
    }
    f->done = true;
    gradus_emu_switch(&f->sp, b->schedulerSp);
    std::abort();  // a finished fiber is never resumed
}

// A fresh stack whose first switch "returns" into fiberMain with the ABI's alignment.
void prime(Fiber& f) {
    uintptr_t top = reinterpret_cast<uintptr_t>(f.stack.data() + f.stack.size()) & ~uintptr_t(15);
    void** sp = reinterpret_cast<void**>(top);
    *--sp = nullptr;                                        // fake return address of fiberMain: rsp % 16 == 8
    *--sp = reinterpret_cast<void*>(&fiberMain);            // where the first switch returns to
    for (int i = 0; i < 6; i++) *--sp = nullptr;            // rbp, rbx, r12 .. r15
    f.sp = sp;
    f.done = false;
}

void runCooperativeBlock(Block& b, unsigned threads, EmuDim3 block) {
    if (b.fibers.size() < threads) {
        b.fibers.resize(threads);
    }
    for (unsigned t = 0; t < threads; t++) {
        prime(b.fibers[t]);
        b.fibers[t].idx = EmuDim3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
    }
    Block* outer = currentBlock;
    currentBlock = &b;
    for (bool live = true; live;) {  // one phase between barriers per pass
        live = false;
        for (unsigned t = 0; t < threads; t++) {
            Fiber& f = b.fibers[t];
            if (f.done) continue;
            b.running = &f;
            threadIdx = f.idx;
            gradus_emu_switch(&b.schedulerSp, f.sp);
            live |= !f.done;
        }
    }
    currentBlock = outer;
}
}  // namespace

void __syncthreads() {
    Block* b = currentBlock;
    if (b == nullptr || b->running == nullptr) {
        throw EmuError(EMU_LAUNCH_FAILURE, std::string(currentKernel ? currentKernel : "a kernel")
                + " calls __syncthreads but is listed as independent threads in emu_driver.cpp");
    }
    Fiber* f = b->running;
    gradus_emu_switch(&f->sp, b->schedulerSp);
}

namespace {
using Body = std::function<void()>;

// A launch's arguments, copied out of kernelParams at launch as CUDA does (the caller may reuse that memory at
// once): `body` runs one thread; `check` fails, as a GPU would fault, when a pointer argument is not device memory.
struct Bound {
    Body body;
    std::function<void()> check;
};

template <typename T>
void checkArgument(const T& v, const char* kernel, size_t index) {
    if constexpr (std::is_pointer_v<T>) {
        if (v != nullptr) {
            gradus_emu_require_device(v, 1, std::string(kernel) + " argument " + std::to_string(index));
        }
    }
}

template <typename... A, size_t... I>
Bound bindArgs(const char* name, void (*f)(A...), void** params, std::index_sequence<I...>) {
    std::tuple<std::decay_t<A>...> args(*static_cast<std::decay_t<A>*>(params[I])...);
    return Bound{[f, args]() { std::apply(f, args); },
                 [name, args]() { (checkArgument(std::get<I>(args), name, I), ...); }};
}

struct Kernel {
    const char* name;
    // True when threads of a block cooperate through __syncthreads and shared memory: such blocks run on real
    // threads; the others run their threads one after another.
    bool cooperative;
    std::function<Bound(void**)> bind;
};

template <typename... A>
Kernel kernel(const char* name, bool cooperative, void (*f)(A...)) {
    return Kernel{name, cooperative,
                  [name, f](void** p) { return bindArgs(name, f, p, std::index_sequence_for<A...>{}); }};
}

const std::vector<Kernel>& kernels() {
    static const std::vector<Kernel> table = {
        kernel("gradus_fill", false, gradus_fill),
        kernel("gradus_fill_int", false, gradus_fill_int),
        kernel("gradus_convert", false, gradus_convert),
        kernel("gradus_unary", false, gradus_unary),
        kernel("gradus_unary_dense", false, gradus_unary_dense),
        kernel("gradus_binary", false, gradus_binary),
        kernel("gradus_binary_dense", false, gradus_binary_dense),
        kernel("gradus_one_hot", false, gradus_one_hot),
        kernel("gradus_index", false, gradus_index),
        kernel("gradus_reduce", true, gradus_reduce),
        kernel("gradus_log_softmax", true, gradus_log_softmax),
        kernel("gradus_pool2d", false, gradus_pool2d),
        kernel("gradus_pool2d_backward", false, gradus_pool2d_backward),
        kernel("gradus_bn_train", true, gradus_bn_train),
        kernel("gradus_bn_backward", true, gradus_bn_backward),
        kernel("gradus_channel_affine", false, gradus_channel_affine),
    };
    return table;
}

// Ops' and optimizers' own kernels (dev.gradus.ops.Op, dev.gradus.spi.UpdateKernels with a CUDA source): the tests'
// CudaEmulator compiles each source for the host into user/<entry>.so beside this library, exporting
// gradus_emu_user_<entry>(const uint64_t* args), which calls the kernel for one thread,
// gradus_emu_user_params_<entry>, the number of 8-byte arguments of the contract, and gradus_emu_user_pairs_<entry>,
// how many of them lead as (pointer, element count) pairs (an op: out, n, then a pair per input; an update: a pair
// per operand, then its float scalars). Found by name when cuModuleGetFunction asks for one.
struct UserKernels {
    std::mutex lock;
    std::deque<Kernel> kernels;  // a deque: the addresses handed out as CUfunctions stay valid
    std::deque<std::string> names;
};

UserKernels& userKernels() {
    static UserKernels* u = new UserKernels();
    return *u;
}

std::string emulatorDirectory() {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&gradus_emu_synchronize), &info) == 0 || info.dli_fname == nullptr) {
        return ".";
    }
    std::string path(info.dli_fname);
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

const Kernel* userKernel(const char* name) {
    UserKernels& u = userKernels();
    std::lock_guard<std::mutex> guard(u.lock);
    for (const Kernel& k : u.kernels) {
        if (std::strcmp(k.name, name) == 0) {
            return &k;
        }
    }
    std::string lib = emulatorDirectory() + "/user/" + name + ".so";
    void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        return nullptr;
    }
    using Run = void (*)(const uint64_t*);
    Run run = reinterpret_cast<Run>(dlsym(handle, (std::string("gradus_emu_user_") + name).c_str()));
    const int* params = static_cast<const int*>(dlsym(handle, (std::string("gradus_emu_user_params_") + name).c_str()));
    const int* pairs = static_cast<const int*>(dlsym(handle, (std::string("gradus_emu_user_pairs_") + name).c_str()));
    if (run == nullptr || params == nullptr || pairs == nullptr) {
        return nullptr;
    }
    u.names.push_back(name);
    const char* stored = u.names.back().c_str();
    size_t count = static_cast<size_t>(*params);
    size_t ranges = 2 * static_cast<size_t>(*pairs);
    u.kernels.push_back(Kernel{stored, false, [stored, run, count, ranges](void** p) {
                                   std::vector<uint64_t> args(count);
                                   for (size_t i = 0; i < count; i++) {
                                       std::memcpy(&args[i], p[i], sizeof(uint64_t));
                                   }
                                   return Bound{[run, args]() { run(args.data()); },
                                                [stored, args, ranges]() {
                                                    // pointer i and its element count i + 1: the whole range
                                                    for (size_t i = 0; i + 1 < ranges; i += 2) {
                                                        size_t bytes = static_cast<size_t>(args[i + 1]) * sizeof(float);
                                                        if (bytes > 0) {
                                                            gradus_emu_require_device(
                                                                reinterpret_cast<const void*>(args[i]), bytes,
                                                                std::string(stored) + " argument " + std::to_string(i));
                                                        }
                                                    }
                                                }};
                               }});
    return &u.kernels.back();
}

void runGrid(const Kernel& k, EmuDim3 grid, EmuDim3 block, const Body& body) {
    unsigned threads = block.x * block.y * block.z;
    gridDim = grid;
    blockDim = block;
    currentKernel = k.name;
    static thread_local Block coop;
    for (unsigned b = 0; b < grid.x * grid.y * grid.z; b++) {
        blockIdx = EmuDim3{b % grid.x, (b / grid.x) % grid.y, b / (grid.x * grid.y)};
        if (!k.cooperative) {
            for (unsigned t = 0; t < threads; t++) {
                threadIdx = EmuDim3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                body();
            }
            continue;
        }
        coop.body = &body;
        coop.failCode = 0;
        runCooperativeBlock(coop, threads, block);
        coop.running = nullptr;
        if (coop.failCode != 0) {
            throw EmuError(coop.failCode, coop.failure);
        }
    }
}

int theModule;  // one module holds every kernel; its handle is only ever compared against null
}  // namespace

// Driver API, with CUDA's C signatures (handles are opaque pointers; CUresult is an int).
extern "C" {

int cuModuleLoadData(void** module, const void* image) {
    if (module == nullptr || image == nullptr) {
        return 1;  // CUDA_ERROR_INVALID_VALUE
    }
    const char* bytes = static_cast<const char*>(image);
    bool elf = std::memcmp(bytes, "\177ELF", 4) == 0;
    bool ptx = std::strstr(bytes, ".version") != nullptr && std::strstr(bytes, ".target") != nullptr;
    if (!elf && !ptx) {
        return 200;  // CUDA_ERROR_INVALID_IMAGE
    }
    *module = &theModule;
    return 0;
}

int cuModuleGetFunction(void** function, void* module, const char* name) {
    if (function == nullptr || module == nullptr || name == nullptr) {
        return 1;
    }
    for (const Kernel& k : kernels()) {
        if (std::strcmp(k.name, name) == 0) {
            *function = const_cast<Kernel*>(&k);
            return 0;
        }
    }
    if (const Kernel* k = userKernel(name)) {
        *function = const_cast<Kernel*>(k);
        return 0;
    }
    return 500;  // CUDA_ERROR_NOT_FOUND
}

int cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned sharedBytes, void* stream, void** params, void** extra) {
    (void) stream;
    (void) extra;
    if (function == nullptr || gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0
        || bx * by * bz > 1024 || gy > 65535 || gz > 65535 || sharedBytes > 48 * 1024 || params == nullptr) {
        return 1;  // the limits of an H100 launch without opt-in shared memory
    }
    int err = gradus_emu_error();
    if (err != 0) {
        return err;
    }
    const Kernel* k = static_cast<const Kernel*>(function);
    Bound bound = k->bind(params);
    EmuDim3 grid{gx, gy, gz};
    EmuDim3 block{bx, by, bz};
    gradus_emu_enqueue([k, grid, block, bound] {
        bound.check();
        runGrid(*k, grid, block, bound.body);
    });
    return 0;
}

}  // extern "C"
