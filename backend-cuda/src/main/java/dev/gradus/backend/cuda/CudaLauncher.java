package dev.gradus.backend.cuda;

import dev.gradus.spi.Layout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Kernel launches on the backend's one stream: arguments packed into per-thread host memory, grid-stride loops
 * sized by {@link #blocksFor}.
 */
final class CudaLauncher {
    static final int THREADS = 256;
    private static final int MAX_BLOCKS = 4096;

    private final CudaModule kernels;
    private final CUstream_st stream;

    CudaLauncher(CudaModule kernels, CUstream_st stream) {
        this.kernels = kernels;
        this.stream = stream;
    }

    /** A 64-bit kernel argument: a device address or a {@code long long}. */
    record L(long v) {}

    /**
     * Per-thread memory for kernel arguments, reused by every launch: a step launches many kernels and should not
     * allocate host memory for each. Each argument gets an 8-byte-aligned slot; {@code params} holds their addresses.
     */
    static final class Args {
        static final int BYTES = 4096;
        static final int MAX = 32;
        final BytePointer memory = new BytePointer(BYTES);
        final ByteBuffer buffer = memory.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        final PointerPointer<Pointer> params = new PointerPointer<>(MAX);
        final LongPointer addresses = new LongPointer(params);
    }

    private static final ThreadLocal<Args> ARGS = ThreadLocal.withInitial(Args::new);

    /** Launches {@code kernel}; arguments are {@link L}, {@code Integer}, {@code Float} or a {@link Layout} struct. */
    void launch(String kernel, int blocks, int threads, int sharedBytes, Object... args) {
        launch(kernels.function(kernel), kernel, blocks, threads, sharedBytes, args);
    }

    /** As {@link #launch(String, int, int, int, Object...)} for a function of any module ({@code kernel} names it). */
    void launch(CUfunc_st function, String kernel, int blocks, int threads, int sharedBytes, Object... args) {
        Args a = ARGS.get();
        if (args.length > Args.MAX) {
            throw new IllegalArgumentException("cuda: " + kernel + " has more than " + Args.MAX + " arguments");
        }
        int at = 0;
        for (int i = 0; i < args.length; i++) {
            Object v = args[i];
            if (v instanceof L l) {
                a.buffer.putLong(at, l.v());
            } else if (v instanceof Integer x) {
                a.buffer.putInt(at, x);
            } else if (v instanceof Float x) {
                a.buffer.putFloat(at, x);
            } else if (v instanceof Layout l) {
                KernelLayout.packInto(l, a.buffer, at);
            } else {
                throw new IllegalArgumentException("cuda: kernel argument " + i + " of " + kernel + ": " + v);
            }
            a.addresses.put(i, a.memory.address() + at);
            at += v instanceof Layout ? KernelLayout.BYTES : 8;
        }
        Cuda.check(
                cudart.cuLaunchKernel(
                        function,
                        Math.max(1, blocks),
                        1,
                        1,
                        threads,
                        1,
                        1,
                        sharedBytes,
                        stream,
                        a.params,
                        (PointerPointer<?>) null),
                "launch " + kernel);
    }

    /** Launches {@code kernel} as a grid-stride loop over {@code n} elements. */
    void launchOver(String kernel, long n, Object... args) {
        launch(kernel, blocksFor(n), THREADS, 0, args);
    }

    /** Blocks for a grid-stride loop over {@code n} elements. */
    static int blocksFor(long n) {
        return (int) Math.max(1, Math.min(MAX_BLOCKS, (n + THREADS - 1) / THREADS));
    }
}
