package dev.gradus.spi;

import dev.gradus.DType;
import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * An elementwise in-place update as backends see it, for {@link Backend#runUpdate}: its name (for messages), how
 * many operands it updates and reads and how many scalars it takes, an {@link UpdateKernel} every backend can run,
 * and optionally a {@link CudaSource} a CUDA backend compiles instead. An optimizer's fused step is one (Adam
 * updates the parameter and both moments from the gradient).
 *
 * <p>Shapes: every operand is contiguous FLOAT32 (any offset) and holds the same {@code n} elements; the updated
 * operands have storages of their own. The CUDA contract, in the spirit of {@link CudaSource}'s for ops: the source
 * defines
 * <pre>
 * extern "C" __global__ void ENTRY(float* u0, long long n, ..., float* u{k-1}, long long n,
 *                                  const float* in0, long long n, ..., float s0, ..., float s{m-1})
 * </pre>
 * (each operand's device address from its first element, with its size {@code n}, the updated ones first, then
 * the scalars by value), launched with {@code ceil(n / 256)} blocks of 256 threads on the backend's stream (not at
 * all when {@code n} is 0); thread {@code i = blockIdx.x * blockDim.x + threadIdx.x} updates element {@code i}
 * when {@code i < n}.
 *
 * <pre>{@code
 * UpdateKernels axpy = new UpdateKernels("axpy", 1, 1, 1, (u, in, s, from, to) -> { ... }, null);
 * backend.runUpdate(axpy, new Operand[] {y}, new Operand[] {x}, new float[] {2f});   // y += 2 x
 * }</pre>
 *
 * @param name the update's name
 * @param updated the number of operands it updates in place (at least 1)
 * @param inputs the number of operands it only reads
 * @param scalars the number of scalars it takes
 * @param java the Java kernel (required)
 * @param cuda the CUDA kernel, or null when there is none
 */
public record UpdateKernels(String name, int updated, int inputs, int scalars, UpdateKernel java, CudaSource cuda) {
    /** Checks the name, the counts and that the Java kernel is given. */
    public UpdateKernels {
        Objects.requireNonNull(name, "UpdateKernels: name");
        Objects.requireNonNull(java, () -> "UpdateKernels " + name + ": a Java kernel is required");
        if (updated < 1 || inputs < 0 || scalars < 0) {
            throw new IllegalArgumentException("UpdateKernels " + name + ": counts must be updated >= 1, inputs >= 0,"
                    + " scalars >= 0, got " + updated + ", " + inputs + ", " + scalars);
        }
    }

    /**
     * Checks the operands of a call and returns their common size {@code n}: the counts this update declares, every
     * operand contiguous FLOAT32 with {@code n} elements, every updated operand on a storage no other operand uses.
     *
     * @throws IllegalArgumentException naming the update and the first operand that is not
     */
    public int check(Operand[] updatedOperands, Operand[] inputOperands, float[] scalarValues) {
        if (updatedOperands.length != updated || inputOperands.length != inputs || scalarValues.length != scalars) {
            throw new IllegalArgumentException(name + ": takes " + updated + " updated operands, " + inputs
                    + " inputs and " + scalars + " scalars, got " + updatedOperands.length + ", "
                    + inputOperands.length + " and " + scalarValues.length);
        }
        int n = updatedOperands[0].numel();
        for (int j = 0; j < updated + inputs; j++) {
            Operand o = j < updated ? updatedOperands[j] : inputOperands[j - updated];
            if (!o.layout().isContiguous() || o.storage().dtype() != DType.FLOAT32) {
                throw new IllegalArgumentException(name + ": operands must be contiguous FLOAT32, got "
                        + o.storage().dtype() + " " + o.layout());
            }
            if (o.numel() != n) {
                throw new IllegalArgumentException(name + ": operands of " + n + " and " + o.numel() + " elements");
            }
            for (int k = 0; k < Math.min(j, updated); k++) {
                if (updatedOperands[k].storage() == o.storage()) {
                    throw new IllegalArgumentException(name + ": updated operand " + k + " shares its storage with"
                            + " operand " + j + "; an updated operand needs a storage of its own");
                }
            }
        }
        return n;
    }

    /**
     * Runs the Java kernel on host copies: reads every operand with {@link Backend#read}, runs over all elements,
     * writes the updated operands back with {@link Backend#write}. What {@link Backend#runUpdate} does unless a
     * backend has a better way.
     */
    public void runOnHost(Backend backend, Operand[] updatedOperands, Operand[] inputOperands, float[] scalarValues) {
        int n = check(updatedOperands, inputOperands, scalarValues);
        FloatBuffer[] u = host(backend, updatedOperands, n);
        FloatBuffer[] in = host(backend, inputOperands, n);
        runJava(u, in, scalarValues, 0, n);
        for (int j = 0; j < updated; j++) {
            Operand o = updatedOperands[j];
            backend.write(o.storage(), o.layout().offset(), u[j].array(), 0, n);
        }
    }

    private static FloatBuffer[] host(Backend backend, Operand[] operands, int n) {
        FloatBuffer[] views = new FloatBuffer[operands.length];
        for (int j = 0; j < operands.length; j++) {
            float[] a = new float[n];
            backend.read(operands[j].storage(), operands[j].layout().offset(), a, 0, n);
            views[j] = FloatBuffer.wrap(a);
        }
        return views;
    }

    /**
     * Runs the Java kernel over {@code [from, to)} of a backend's views, the inputs handed read-only (a kernel that
     * writes one fails instead of changing it on some backends only), an exception the kernel throws coming back
     * naming the update and the range.
     *
     * <p>Shapes: every view holds the operands' common {@code n} elements from index 0.
     * {@code kernels.runJava(u, in, scalars, 0, n);}
     *
     * @throws IllegalArgumentException or {@link IllegalStateException} naming the update when the kernel throws (the
     *     former when it threw one)
     */
    public void runJava(FloatBuffer[] updatedViews, FloatBuffer[] inputViews, float[] scalarValues, int from, int to) {
        FloatBuffer[] readOnly = new FloatBuffer[inputViews.length];
        for (int j = 0; j < inputViews.length; j++) {
            readOnly[j] = inputViews[j].asReadOnlyBuffer();
        }
        try {
            java.run(updatedViews, readOnly, scalarValues, from, to);
        } catch (RuntimeException e) {
            String what = name + ": the Java kernel failed on elements [" + from + ", " + to + ") of "
                    + (updatedViews.length == 0 ? 0 : updatedViews[0].limit()) + ": " + e;
            throw e instanceof IllegalArgumentException
                    ? new IllegalArgumentException(what, e)
                    : new IllegalStateException(what, e);
        }
    }
}
