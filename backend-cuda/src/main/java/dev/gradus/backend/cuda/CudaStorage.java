package dev.gradus.backend.cuda;

import dev.gradus.DType;
import dev.gradus.spi.AbstractStorage;

/** A block of device memory from the caching allocator: its address, element type and capacity. */
final class CudaStorage extends AbstractStorage {
    final long address;
    /** Not yet back in the allocator (a released storage stays in use while an op holds it). */
    volatile boolean inUse = true;
    /**
     * For INT32 storages: the contents as the host last wrote them, while no kernel has written the storage since,
     * else null. Labels come from the host, so oneHot can check them here instead of waiting for the device.
     */
    volatile int[] hostInts;
    /** Ops queuing work on this storage now; guarded by {@code this}. */
    private int pins;
    /** Its tensor let go of it; guarded by {@code this}. */
    private boolean released;

    CudaStorage(DType dtype, int numel, long address) {
        super(dtype, numel);
        this.address = address;
    }

    /** The device address of element {@code index}. */
    long at(long index) {
        return address + index * dtype().bytes();
    }

    /**
     * Holds the storage while one op queues work on it; throws when its tensor already let go of it. Why: a
     * tensor closed on another thread between an op's check and its launch would otherwise have its block handed
     * out again (or given back to the driver by a trim) before the op's kernel is even on the stream.
     */
    synchronized void pin() {
        if (released || !inUse) {
            throw new IllegalStateException("cuda backend: storage of " + numel() + " " + dtype()
                    + " used after it was released (its tensor was closed)");
        }
        pins++;
    }

    /** Ends one op's hold; true when the storage was released meanwhile and this was the last hold. */
    synchronized boolean unpin() {
        if (--pins == 0 && released) {
            inUse = false;
            return true;
        }
        return false;
    }

    /** Its tensor lets go; true when no op holds it, so its block may go back to the allocator now. */
    synchronized boolean release() {
        if (released || !inUse) {
            throw new IllegalStateException(
                    "cuda backend: storage of " + numel() + " " + dtype() + " freed twice (used after it was freed)");
        }
        released = true;
        if (pins == 0) {
            inUse = false;
            return true;
        }
        return false;
    }
}
