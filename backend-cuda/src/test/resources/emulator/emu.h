// The CUDA emulator's shared state, defined in the emulated driver (emu_driver.cpp) and used by the emulated
// runtime, cuBLAS and cuDNN: one in-order stream run by one worker thread, the registry of device allocations, and
// the first error, which stays (as CUDA's sticky errors do) and is returned by every later synchronisation.
#pragma once
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>

// Thrown by work on the stream; the worker records it as the sticky error and prints what went wrong.
struct EmuError : std::runtime_error {
    int code;
    EmuError(int c, const std::string& what) : std::runtime_error(what), code(c) {}
};

// CUDA runtime error codes the emulator returns (values of cudaError_t).
enum { EMU_SUCCESS = 0, EMU_INVALID_VALUE = 1, EMU_MEMORY_ALLOCATION = 2, EMU_INVALID_DEVICE_POINTER = 17,
       EMU_ILLEGAL_ADDRESS = 700, EMU_LAUNCH_FAILURE = 719 };

void gradus_emu_enqueue(std::function<void()> work);
// Waits until the stream is idle; returns the sticky error (0 when none).
int gradus_emu_synchronize();
// Lets the stream run until done() holds (checked under the stream's lock) or it is idle; returns the sticky error.
int gradus_emu_wait_for(const std::function<bool()>& done);
// The sticky error without waiting.
int gradus_emu_error();
void* gradus_emu_device_malloc(size_t bytes);
// False when p is not the start of a live device allocation.
bool gradus_emu_device_free(void* p);
// True when [p, p + bytes) lies inside one live device allocation.
bool gradus_emu_on_device(const void* p, size_t bytes);
// Throws EmuError(EMU_ILLEGAL_ADDRESS) naming `what` unless [p, p + bytes) is device memory.
void gradus_emu_require_device(const void* p, size_t bytes, const std::string& what);
