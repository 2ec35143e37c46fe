package dev.gradus.backend.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Gradus' kernels compiled with NVRTC for the device's architecture and loaded as one module; the PTX is cached
 * under {@code ~/.cache/gradus/cuda} by a hash of the source, the architecture and the NVRTC version, so only the
 * first start on a machine pays for compilation.
 */
final class CudaModule {
    private final CUmod_st module = new CUmod_st();
    private final Map<String, CUfunc_st> functions = new HashMap<>();

    CudaModule(int ccMajor, int ccMinor) {
        String source = CudaKernels.all();
        String arch = "compute_" + ccMajor + ccMinor;
        int[] major = {0};
        int[] minor = {0};
        Cuda.checkNvrtc(nvrtc.nvrtcVersion(major, minor), "nvrtcVersion");
        String key = sha256(source + "|" + arch + "|nvrtc " + major[0] + "." + minor[0]);
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "gradus", "cuda", key + ".ptx");
        byte[] ptx = null;
        try {
            if (Files.isRegularFile(cache)) {
                ptx = Files.readAllBytes(cache);
            }
        } catch (IOException e) {
            ptx = null;
        }
        if (ptx == null) {
            ptx = compile(source, arch);
            try {
                Files.createDirectories(cache.getParent());
                Path tmp = Files.createTempFile(cache.getParent(), key, ".tmp");
                Files.write(tmp, ptx);
                Files.move(tmp, cache, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                // A read-only home only costs a compilation per start.
            }
        }
        try (BytePointer image = new BytePointer(ptx.length + 1)) {
            image.put(ptx, 0, ptx.length).put(ptx.length, (byte) 0);
            Cuda.check(cudart.cuModuleLoadData(module, image), "cuModuleLoadData (Gradus kernels for " + arch + ")");
        }
        for (String name : CudaKernels.ENTRY_POINTS) {
            CUfunc_st f = new CUfunc_st();
            Cuda.check(cudart.cuModuleGetFunction(f, module, name), "cuModuleGetFunction " + name);
            functions.put(name, f);
        }
    }

    CUfunc_st function(String name) {
        CUfunc_st f = functions.get(name);
        if (f == null) {
            throw new IllegalArgumentException("cuda: no kernel " + name + " in the Gradus module");
        }
        return f;
    }

    private static byte[] compile(String source, String arch) {
        _nvrtcProgram prog = new _nvrtcProgram();
        try (BytePointer src = new BytePointer(source, StandardCharsets.UTF_8);
             BytePointer name = new BytePointer("gradus_kernels.cu")) {
            Cuda.checkNvrtc(nvrtc.nvrtcCreateProgram(prog, src, name, 0, (PointerPointer<?>) null,
                    (PointerPointer<?>) null), "nvrtcCreateProgram");
        }
        try (PointerPointer<BytePointer> opts = new PointerPointer<>("--gpu-architecture=" + arch, "-std=c++17")) {
            int r = nvrtc.nvrtcCompileProgram(prog, 2, opts);
            if (r != nvrtc.NVRTC_SUCCESS) {
                throw new IllegalStateException("cuda: NVRTC could not compile the Gradus kernels for " + arch + ": "
                        + nvrtc.nvrtcGetErrorString(r).getString() + "\n" + log(prog));
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                Cuda.checkNvrtc(nvrtc.nvrtcGetPTXSize(prog, size), "nvrtcGetPTXSize");
                byte[] ptx = new byte[(int) size.get()];
                Cuda.checkNvrtc(nvrtc.nvrtcGetPTX(prog, ptx), "nvrtcGetPTX");
                int end = ptx.length;
                while (end > 0 && ptx[end - 1] == 0) {
                    end--;
                }
                return java.util.Arrays.copyOf(ptx, end);
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

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
