package dev.gradus.backend.cuda;

import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.IndexOp;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.UnaryOp;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The CUDA C sources of Gradus' own kernels (elementwise, reductions, log-softmax, pooling, batch norm), kept as
 * {@code .cu} resources beside this class and compiled at run time with NVRTC, so that users need no compiler.
 *
 * <p>{@link #source} returns a source with {@code common.cuh} inlined, ready for {@code nvrtcCreateProgram}.
 *
 * <pre>{@code String cu = CudaKernels.source("softmax.cu"); // gradus_log_softmax}</pre>
 */
public final class CudaKernels {
    /** Every kernel source, compiled together into one module per device. */
    public static final List<String> SOURCES =
            List.of("elementwise.cu", "reduce.cu", "softmax.cu", "pool.cu", "batchnorm.cu");

    /** The kernels the backend launches; each must be an {@code extern "C"} entry point of the sources. */
    public static final List<String> ENTRY_POINTS = List.of(
            "gradus_fill",
            "gradus_fill_int",
            "gradus_convert",
            "gradus_unary",
            "gradus_unary_dense",
            "gradus_binary",
            "gradus_binary_dense",
            "gradus_one_hot",
            "gradus_index",
            "gradus_reduce",
            "gradus_log_softmax",
            "gradus_pool2d",
            "gradus_pool2d_backward",
            "gradus_bn_train",
            "gradus_bn_backward",
            "gradus_channel_affine");

    /** The shared header: layouts, and the place {@link #opCodes} fills in. */
    public static final String HEADER = "common.cuh";

    /** The line of {@link #HEADER} that {@link #header} replaces with the generated op codes. */
    static final String OP_CODES = "// @GRADUS_OP_CODES@";

    /** The SPI enums whose ordinals the kernels switch on, with the prefix of their codes in the sources. */
    private static final Map<String, Class<? extends Enum<?>>> OP_ENUMS = Map.of(
            "UNARY",
            UnaryOp.class,
            "BINARY",
            BinaryOp.class,
            "REDUCE",
            ReduceOp.class,
            "POOL",
            PoolOp.class,
            "INDEX",
            IndexOp.class);

    private CudaKernels() {}

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

    /**
     * {@code #define UNARY_RELU 6} and so on: every constant of the op enums with its ordinal, which is what the
     * backend passes, so a new enum constant is a new code without editing a table.
     */
    public static String opCodes() {
        StringBuilder sb = new StringBuilder();
        new TreeMap<>(OP_ENUMS).forEach((prefix, type) -> {
            for (Enum<?> e : type.getEnumConstants()) {
                sb.append("#define ")
                        .append(prefix)
                        .append('_')
                        .append(e.name())
                        .append(' ')
                        .append(e.ordinal())
                        .append('\n');
            }
        });
        return sb.toString();
    }

    /** The header as the kernels see it: {@link #HEADER} with the generated {@link #opCodes}. */
    public static String header() {
        String text = raw(HEADER);
        if (!text.contains(OP_CODES)) {
            throw new IllegalStateException("CudaKernels: " + HEADER + " lacks the line " + OP_CODES);
        }
        return text.replace(OP_CODES, opCodes());
    }

    /** The source {@code name} with {@code #include "common.cuh"} replaced by the header's text. */
    public static String source(String name) {
        String header = header().replace("#pragma once", "");
        return raw(name).replace("#include \"" + HEADER + "\"", header);
    }

    /** All sources as one translation unit (the header once). */
    public static String all() {
        StringBuilder sb = new StringBuilder(header().replace("#pragma once", ""));
        for (String s : SOURCES) {
            sb.append("\n// ---- ").append(s).append('\n').append(raw(s).replace("#include \"" + HEADER + "\"", ""));
        }
        return sb.toString();
    }
}
