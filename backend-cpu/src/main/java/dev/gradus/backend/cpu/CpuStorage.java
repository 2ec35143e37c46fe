package dev.gradus.backend.cpu;

import dev.gradus.DType;
import dev.gradus.spi.Storage;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/** Native memory from JavaCPP, seen by OpenBLAS as a pointer and by Java kernels as a direct buffer. */
final class CpuStorage implements Storage {
    final DType dtype;
    final int numel;
    final BytePointer memory;
    final FloatPointer floats;
    final FloatBuffer f;
    final IntBuffer i;
    volatile boolean inUse;

    CpuStorage(DType dtype, int numel) {
        this.dtype = dtype;
        this.numel = numel;
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

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public int numel() {
        return numel;
    }

    void deallocate() {
        memory.deallocate();
    }
}
