package dev.gradus.backend.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;

/**
 * Gradus' kernels compiled with NVRTC for the device (a CUBIN for its architecture, see {@link Nvrtc}) and loaded as
 * one module; the image is cached under {@code ~/.cache/gradus/cuda} (or {@code -Dgradus.cuda.cache}) by a hash of
 * the source, the target and the NVRTC version, so only the first start on a machine pays for compilation.
 */
final class CudaModule {
    private final CUmod_st module = new CUmod_st();
    /**
     * Filled once here and never changed, so every thread reads it without a lock (a CUfunction may be launched
     * from any thread whose current context is the module's).
     */
    private final Map<String, CUfunc_st> functions;

    /** What NVRTC compiles for on this device; ops' own kernels ({@link CudaOpKernels}) use it too. */
    private final Nvrtc.Target target;

    CudaModule(int ccMajor, int ccMinor) {
        this.target = Nvrtc.target(ccMajor, ccMinor, Nvrtc.supportedArchs());
        load(module, CudaKernels.all(), target, "the Gradus kernels");
        Map<String, CUfunc_st> found = new HashMap<>();
        for (String name : CudaKernels.ENTRY_POINTS) {
            CUfunc_st f = new CUfunc_st();
            Cuda.check(cudart.cuModuleGetFunction(f, module, name), "cuModuleGetFunction " + name);
            found.put(name, f);
        }
        this.functions = Map.copyOf(found);
    }

    Nvrtc.Target target() {
        return target;
    }

    /**
     * Compiles {@code source} for {@code target} (or takes the image from the cache, keyed by a hash of the source,
     * the target and the NVRTC version) and loads it into {@code module}; {@code what} names it in errors.
     */
    static void load(CUmod_st module, String source, Nvrtc.Target target, String what) {
        int nvrtcVersion = Nvrtc.version();
        String key = sha256(source + "|" + target + "|nvrtc " + nvrtcVersion);
        Path cache = cacheDirectory().resolve(key + target.suffix());
        byte[] image = null;
        try {
            if (Files.isRegularFile(cache)) {
                image = Files.readAllBytes(cache);
            }
        } catch (IOException e) {
            image = null;
        }
        if (image == null) {
            image = Nvrtc.compile(source, target, what);
            try {
                Files.createDirectories(cache.getParent());
                Path tmp = Files.createTempFile(cache.getParent(), key, ".tmp");
                Files.write(tmp, image);
                Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                // A read-only home only costs a compilation per start.
            }
        }
        // PTX must end in NUL; a CUBIN is an ELF image and ignores the extra byte.
        try (BytePointer data = new BytePointer(image.length + 1)) {
            data.put(image, 0, image.length).put(image.length, (byte) 0);
            Cuda.check(
                    cudart.cuModuleLoadData(module, data),
                    "cuModuleLoadData (" + what + ", " + target.arch()
                            + (target.cubin() ? " CUBIN" : " PTX") + " from NVRTC " + CudaProbe.version(nvrtcVersion)
                            + ", driver " + CudaProbe.version(CudaProbe.run().driverVersion()) + ")");
        }
    }

    /** {@code -Dgradus.cuda.cache=DIR}, else {@code ~/.cache/gradus/cuda}. */
    static Path cacheDirectory() {
        String dir = System.getProperty("gradus.cuda.cache");
        return dir != null && !dir.isBlank()
                ? Path.of(dir)
                : Path.of(System.getProperty("user.home"), ".cache", "gradus", "cuda");
    }

    CUfunc_st function(String name) {
        CUfunc_st f = functions.get(name);
        if (f == null) {
            throw new IllegalArgumentException("cuda: no kernel " + name + " in the Gradus module");
        }
        return f;
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
