package dev.gradus.backend.cuda;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The runtime compiler step of the CUDA backend: which code NVRTC should produce for a device, and producing it.
 *
 * <p>A device gets a CUBIN for its exact architecture whenever this NVRTC knows that architecture, because a CUBIN
 * needs no JIT compilation by the driver: PTX from an NVRTC newer than the driver (pip's NVRTC 13.1 on a 13.0 driver,
 * say) is refused with {@code CUDA_ERROR_UNSUPPORTED_PTX_VERSION}, while a CUBIN loads under CUDA's minor-version
 * compatibility. Only a device newer than this NVRTC gets PTX, for the newest architecture NVRTC knows, which the
 * driver then compiles for the device.
 *
 * <pre>{@code Nvrtc.Target t = Nvrtc.target(9, 0, Nvrtc.supportedArchs()); // sm_90, CUBIN
 * byte[] image = Nvrtc.compile(CudaKernels.all(), t);}</pre>
 *
 * <p>Needs only {@code libnvrtc.so.13}: no driver and no device, so the compile step is tested on machines without
 * a GPU.
 */
final class Nvrtc {
    private Nvrtc() {}

    /**
     * What to compile for: {@code sm_XY} with {@code cubin} true, or {@code compute_XY} with {@code cubin} false.
     *
     * @param arch the value of NVRTC's {@code --gpu-architecture} option
     */
    record Target(String arch, boolean cubin) {
        String option() {
            return "--gpu-architecture=" + arch;
        }

        /** The image's file name suffix in the cache. */
        String suffix() {
            return cubin ? ".cubin" : ".ptx";
        }
    }

    /** Whether NVRTC can be loaded here: null when it can, else the reason in one line. */
    static String problem() {
        try {
            int[] major = {0};
            int[] minor = {0};
            int r = nvrtc.nvrtcVersion(major, minor);
            return r == nvrtc.NVRTC_SUCCESS ? null : "nvrtcVersion returned " + r;
        } catch (Throwable t) {
            return "NVRTC (libnvrtc.so.13) could not be loaded: " + CudaProbe.rootMessage(t);
        }
    }

    /** NVRTC's version as {@code major * 1000 + minor * 10}, as CUDA writes versions. */
    static int version() {
        int[] major = {0};
        int[] minor = {0};
        Cuda.checkNvrtc(nvrtc.nvrtcVersion(major, minor), "nvrtcVersion");
        return major[0] * 1000 + minor[0] * 10;
    }

    /** The real architectures this NVRTC can produce CUBINs for, as {@code 10 * major + minor}, ascending. */
    static int[] supportedArchs() {
        int[] n = {0};
        Cuda.checkNvrtc(nvrtc.nvrtcGetNumSupportedArchs(n), "nvrtcGetNumSupportedArchs");
        int[] archs = new int[n[0]];
        Cuda.checkNvrtc(nvrtc.nvrtcGetSupportedArchs(archs), "nvrtcGetSupportedArchs");
        Arrays.sort(archs);
        return archs;
    }

    /**
     * The target for a device of compute capability {@code ccMajor.ccMinor}.
     *
     * @throws IllegalStateException when the device is older than every architecture NVRTC supports
     */
    static Target target(int ccMajor, int ccMinor, int[] supported) {
        int cc = 10 * ccMajor + ccMinor;
        if (supported.length == 0 || cc < supported[0]) {
            throw new IllegalStateException("cuda: this GPU is sm_" + cc + " but NVRTC compiles only for "
                    + (supported.length == 0 ? "no architecture" : "sm_" + supported[0] + " and newer")
                    + "; use the CPU backend on this machine");
        }
        int best = supported[0];
        for (int a : supported) {
            if (a == cc) {
                return new Target("sm_" + cc, true);
            }
            if (a < cc) {
                best = a;
            }
        }
        return new Target("compute_" + best, false);
    }

    /**
     * Compiles {@code source} for {@code target}: the CUBIN, or the PTX without its terminating NUL.
     *
     * @throws IllegalStateException with NVRTC's log when the source does not compile
     */
    static byte[] compile(String source, Target target) {
        return compile(source, target, "the Gradus kernels");
    }

    /** As {@link #compile(String, Target)}, naming {@code what} (e.g. {@code "op swish's kernel"}) in errors. */
    static byte[] compile(String source, Target target, String what) {
        _nvrtcProgram prog = new _nvrtcProgram();
        try (BytePointer src = new BytePointer(source, StandardCharsets.UTF_8);
                BytePointer name = new BytePointer("gradus_kernels.cu")) {
            Cuda.checkNvrtc(
                    nvrtc.nvrtcCreateProgram(prog, src, name, 0, (PointerPointer<?>) null, (PointerPointer<?>) null),
                    "nvrtcCreateProgram");
        }
        List<String> options = List.of(target.option(), "-std=c++17");
        try (PointerPointer<BytePointer> opts = new PointerPointer<>(options.toArray(new String[0]))) {
            int r = nvrtc.nvrtcCompileProgram(prog, options.size(), opts);
            if (r != nvrtc.NVRTC_SUCCESS) {
                throw new IllegalStateException("cuda: NVRTC could not compile " + what + " for " + target.arch() + ": "
                        + nvrtc.nvrtcGetErrorString(r).getString() + "\n" + log(prog));
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                byte[] image;
                if (target.cubin()) {
                    Cuda.checkNvrtc(nvrtc.nvrtcGetCUBINSize(prog, size), "nvrtcGetCUBINSize");
                    image = new byte[(int) size.get()];
                    Cuda.checkNvrtc(nvrtc.nvrtcGetCUBIN(prog, image), "nvrtcGetCUBIN");
                    return image;
                }
                Cuda.checkNvrtc(nvrtc.nvrtcGetPTXSize(prog, size), "nvrtcGetPTXSize");
                image = new byte[(int) size.get()];
                Cuda.checkNvrtc(nvrtc.nvrtcGetPTX(prog, image), "nvrtcGetPTX");
                int end = image.length;
                while (end > 0 && image[end - 1] == 0) {
                    end--;
                }
                return Arrays.copyOf(image, end);
            }
        } finally {
            nvrtc.nvrtcDestroyProgram(prog);
        }
    }

    private static String log(_nvrtcProgram prog) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            nvrtc.nvrtcGetProgramLogSize(prog, size);
            byte[] text = new byte[(int) size.get()];
            nvrtc.nvrtcGetProgramLog(prog, text);
            return new String(text, StandardCharsets.UTF_8).trim();
        }
    }
}
