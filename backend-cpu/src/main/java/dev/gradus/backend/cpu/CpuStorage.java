package dev.gradus.backend.cpu;

import dev.gradus.DType;
import dev.gradus.spi.AbstractStorage;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/** Native memory from JavaCPP, seen by OpenBLAS as a pointer and by Java kernels as a direct buffer. */
final class CpuStorage extends AbstractStorage {
    final BytePointer memory;
    final FloatPointer floats;
    final FloatBuffer f;
    final IntBuffer i;
    volatile boolean inUse;
    /** The oneDNN layout the contents are in, or null for plain order (what every Java kernel expects). */
    private volatile DnnlLayout layout;
    /** The oneDNN pooling plan whose workspace these bytes are (max pooling's indices), or null. */
    private volatile DnnlPlan workspaceOf;

    CpuStorage(DType dtype, int numel) {
        super(dtype, numel);
        // At least one element so every storage has a valid address.
        long bytes = Math.max(1, (long) numel) * dtype.bytes();
        this.memory = new BytePointer(bytes);
        if (memory.isNull()) {
            throw new OutOfMemoryError("cpu backend: could not allocate " + bytes + " bytes of native memory");
        }
        var bb = memory.asByteBuffer().order(ByteOrder.nativeOrder());
        this.floats = new FloatPointer(memory);
        this.f = bb.asFloatBuffer();
        this.i = bb.asIntBuffer();
    }

    /** The blocked layout held, or null when plain. */
    DnnlLayout layout() {
        return layout;
    }

    /** Records that a oneDNN op wrote the contents in {@code l} (null: plain). */
    void setLayout(DnnlLayout l) {
        layout = l;
        workspaceOf = null;
    }

    /** The pooling plan whose workspace this storage holds, or null. */
    DnnlPlan workspaceOf() {
        return workspaceOf;
    }

    void setWorkspace(DnnlPlan plan) {
        layout = null;
        workspaceOf = plan;
    }

    /** Puts the contents in plain order if a oneDNN op left them blocked. */
    void ensurePlain() {
        if (workspaceOf != null) {
            // Max pooling's indices in oneDNN's own encoding cannot be turned into ours; only its backward reads them.
            throw new IllegalStateException("cpu backend: these max-pooling indices are in oneDNN's workspace format"
                    + " and can only be read by the matching pool2dBackward");
        }
        DnnlLayout l = layout;
        if (l != null) {
            synchronized (this) {
                if (layout != null) {
                    layout.toPlain(memory);
                    layout = null;
                }
            }
        }
    }

    void deallocate() {
        memory.deallocate();
    }
}
