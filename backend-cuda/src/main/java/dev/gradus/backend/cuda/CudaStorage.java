package dev.gradus.backend.cuda;

import dev.gradus.DType;
import dev.gradus.spi.PinnableStorage;

/** A block of device memory from the caching allocator: its address, element type and capacity. */
final class CudaStorage extends PinnableStorage {
    final long address;
    /**
     * For INT32 storages: the contents as the host last wrote them, while no kernel has written the storage since,
     * else null. Labels come from the host, so oneHot can check them here instead of waiting for the device.
     */
    volatile int[] hostInts;

    CudaStorage(DType dtype, int numel, long address) {
        super(dtype, numel, true);
        this.address = address;
    }

    /** The device address of element {@code index}. */
    long at(long index) {
        return address + index * dtype().bytes();
    }

    @Override
    protected String what() {
        return "cuda backend: storage of " + numel() + " " + dtype();
    }

    /**
     * A released block goes back to the allocator as soon as no op holds it (behind the op's work on the stream),
     * so the storage leaves use then. Why holds: a tensor closed on another thread between an op's check and its
     * launch would otherwise have its block handed out again (or given back to the driver by a trim) before the op's
     * kernel is even on the stream.
     */
    @Override
    protected boolean leavesUseWhenFreed() {
        return true;
    }
}
