package dev.gradus.backend.cuda;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.Pointer;

/** Error checks and raw-address helpers shared by the CUDA backend's classes. */
final class Cuda {
    private Cuda() {}

    /** Throws naming {@code what} and the CUDA error when {@code err} is not success. */
    static void check(int err, String what) {
        if (err != 0) {
            String name;
            String text;
            try {
                name = cudart.cudaGetErrorName(err).getString();
                text = cudart.cudaGetErrorString(err).getString();
            } catch (RuntimeException e) {
                name = "error " + err;
                text = "";
            }
            throw new IllegalStateException("cuda: " + what + " failed: " + name + " (" + text + ")");
        }
    }

    /** As {@link #check} for cuBLAS status codes. */
    static void checkBlas(int status, String what) {
        if (status != cublas.CUBLAS_STATUS_SUCCESS) {
            throw new IllegalStateException("cuda: " + what + " failed: cuBLAS status " + status);
        }
    }

    /** As {@link #check} for NVRTC results. */
    static void checkNvrtc(int result, String what) {
        if (result != nvrtc.NVRTC_SUCCESS) {
            throw new IllegalStateException("cuda: " + what + " failed: "
                    + nvrtc.nvrtcGetErrorString(result).getString());
        }
    }

    /** A JavaCPP pointer to a raw device address (never dereferenced on the host). */
    static Pointer pointer(long addr) {
        // Inside the anonymous class `address` is Pointer's protected field, so the parameter needs another name.
        return new Pointer() {
            {
                address = addr;
            }
        };
    }
}
