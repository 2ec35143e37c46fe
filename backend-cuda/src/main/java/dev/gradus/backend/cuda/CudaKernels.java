package dev.gradus.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The CUDA C sources of Gradus' own kernels (elementwise, reductions, log-softmax, optimizer steps), kept as
 * {@code .cu} resources beside this class and compiled at run time with NVRTC, so that users need no compiler.
 *
 * <p>{@link #source} returns a source with {@code common.cuh} inlined, ready for {@code nvrtcCreateProgram}.
 *
 * <pre>{@code String cu = CudaKernels.source("optim.cu"); // gradus_adam_step, gradus_sgd_step}</pre>
 */
public final class CudaKernels {
    /** Every kernel source, compiled together into one module per device. */
    public static final List<String> SOURCES = List.of("elementwise.cu", "reduce.cu", "softmax.cu", "optim.cu",
            "pool.cu", "batchnorm.cu");

    /** The kernels the backend launches; each must be an {@code extern "C"} entry point of the sources. */
    public static final List<String> ENTRY_POINTS = List.of("gradus_fill", "gradus_fill_int", "gradus_convert",
            "gradus_unary", "gradus_unary_dense", "gradus_binary", "gradus_binary_dense", "gradus_one_hot",
            "gradus_reduce", "gradus_log_softmax", "gradus_log_softmax_backward", "gradus_adam_step",
            "gradus_sgd_step", "gradus_pool2d", "gradus_pool2d_backward", "gradus_bn_train", "gradus_bn_backward");

    /** The shared header: layouts and op codes matching the SPI enums' ordinals. */
    public static final String HEADER = "common.cuh";

    private CudaKernels() {
    }

    /** The raw text of a resource under {@code kernels/}. */
    public static String raw(String name) {
        try (InputStream in = CudaKernels.class.getResourceAsStream("kernels/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("CudaKernels: no kernel source '" + name + "'; known: " + SOURCES);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("CudaKernels: reading " + name, e);
        }
    }

    /** The source {@code name} with {@code #include "common.cuh"} replaced by the header's text. */
    public static String source(String name) {
        String header = raw(HEADER).replace("#pragma once", "");
        return raw(name).replace("#include \"" + HEADER + "\"", header);
    }

    /** All sources as one translation unit (the header once). */
    public static String all() {
        StringBuilder sb = new StringBuilder(raw(HEADER).replace("#pragma once", ""));
        for (String s : SOURCES) {
            sb.append("\n// ---- ").append(s).append('\n').append(raw(s).replace("#include \"" + HEADER + "\"", ""));
        }
        return sb.toString();
    }
}
