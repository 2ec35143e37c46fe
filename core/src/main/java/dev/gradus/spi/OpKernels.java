package dev.gradus.spi;

import dev.gradus.DType;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * The kernels of one op as backends see them, for {@link Backend#runKernel}: its name (for messages), a
 * {@link JavaKernel} every backend can run, and optionally a {@link CudaSource} a CUDA backend compiles instead.
 *
 * <p>Shapes: the kernels take contiguous FLOAT32 inputs and a dense FLOAT32 output, whose shapes the caller
 * (core's {@code dev.gradus.ops.Op}) has already checked.
 *
 * <pre>{@code
 * OpKernels k = new OpKernels("twice", (in, s, out, os) -> { ... }, null);
 * backend.runKernel(k, new Operand[] {x}, out);
 * }</pre>
 *
 * @param name the op's name
 * @param java the Java kernel (required)
 * @param cuda the CUDA kernel, or null when the op has none
 */
public record OpKernels(String name, JavaKernel java, CudaSource cuda) {
    /** A NaN with a payload no arithmetic makes: what the output holds where the kernel did not write. */
    private static final int UNWRITTEN = 0x7fc0dead;

    /** Checks that the name and the Java kernel are given. */
    public OpKernels {
        Objects.requireNonNull(name, "OpKernels: name");
        Objects.requireNonNull(java, () -> "OpKernels " + name + ": a Java kernel is required");
    }

    /**
     * Checks the operands of a call: every input contiguous FLOAT32 (any offset), the output dense FLOAT32.
     *
     * @throws IllegalArgumentException naming the op and the first operand that is not
     */
    public void check(Operand[] inputs, Operand out) {
        for (Operand in : inputs) {
            if (!in.layout().isContiguous() || in.storage().dtype() != DType.FLOAT32) {
                throw new IllegalArgumentException(name + ": kernel input must be contiguous FLOAT32, got "
                        + in.storage().dtype() + " " + in.layout());
            }
        }
        if (!out.layout().isDense() || out.storage().dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(name + ": kernel output must be dense FLOAT32, got "
                    + out.storage().dtype() + " " + out.layout());
        }
    }

    /**
     * Runs the Java kernel on host copies: reads every input with {@link Backend#read}, runs, writes the output
     * with {@link Backend#write}. What {@link Backend#runKernel} does unless a backend has a better way.
     */
    public void runOnHost(Backend backend, Operand[] inputs, Operand out) {
        check(inputs, out);
        FloatBuffer[] views = new FloatBuffer[inputs.length];
        int[][] shapes = new int[inputs.length][];
        for (int j = 0; j < inputs.length; j++) {
            Operand in = inputs[j];
            float[] host = new float[in.numel()];
            backend.read(in.storage(), in.layout().offset(), host, 0, host.length);
            views[j] = FloatBuffer.wrap(host);
            shapes[j] = in.shape().clone();
        }
        float[] result = new float[out.numel()];
        runJava(views, shapes, FloatBuffer.wrap(result), out.shape().clone());
        backend.write(out.storage(), 0, result, 0, result.length);
    }

    /**
     * Runs the Java kernel on a backend's views, guarding the user's side of the contract: the inputs are handed
     * read-only (a kernel that writes one fails instead of changing the input on some backends only), an exception
     * the kernel throws comes back naming the op and the shapes, and so does an output element the kernel left
     * unwritten (a shape rule that promises more than the kernel writes), instead of whatever the memory held.
     *
     * <p>Shapes: {@code inputs[j]} holds {@code shapes[j]}'s elements, {@code out} holds {@code outShape}'s.
     *
     * <pre>{@code kernels.runJava(views, shapes, outView, outShape);}</pre>
     *
     * @throws IllegalArgumentException or {@link IllegalStateException} naming the op and the shapes when the kernel
     *     throws (the former when it threw one) or leaves output elements unwritten
     */
    public void runJava(FloatBuffer[] inputs, int[][] shapes, FloatBuffer out, int[] outShape) {
        FloatBuffer[] readOnly = new FloatBuffer[inputs.length];
        for (int j = 0; j < inputs.length; j++) {
            readOnly[j] = inputs[j].asReadOnlyBuffer();
        }
        int n = out.limit();
        float unwritten = Float.intBitsToFloat(UNWRITTEN);
        for (int i = 0; i < n; i++) {
            out.put(i, unwritten);
        }
        try {
            java.run(readOnly, shapes, out, outShape);
        } catch (RuntimeException e) {
            String what = name + ": the Java kernel failed on " + shapes(shapes) + " -> " + Arrays.toString(outShape)
                    + ": " + e;
            throw e instanceof IllegalArgumentException
                    ? new IllegalArgumentException(what, e)
                    : new IllegalStateException(what, e);
        }
        int left = 0;
        for (int i = 0; i < n; i++) {
            if (Float.floatToRawIntBits(out.get(i)) == UNWRITTEN) {
                left++;
            }
        }
        if (left > 0) {
            throw new IllegalStateException(name + ": the Java kernel left " + left + " of the " + n
                    + " output elements unwritten for " + shapes(shapes) + " -> " + Arrays.toString(outShape)
                    + "; the shape rule and the kernel disagree on the output's size");
        }
    }

    private static String shapes(int[][] shapes) {
        StringJoiner j = new StringJoiner(" x ");
        for (int[] s : shapes) {
            j.add(Arrays.toString(s));
        }
        return j.toString();
    }
}
