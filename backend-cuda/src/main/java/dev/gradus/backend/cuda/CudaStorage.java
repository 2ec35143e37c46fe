package dev.gradus.backend.cuda;

import dev.gradus.DType;
import dev.gradus.spi.AbstractStorage;

/** A block of device memory from the caching allocator: its address, element type and capacity. */
final class CudaStorage extends AbstractStorage {
    final long address;
    volatile boolean inUse = true;
    /**
     * For INT32 storages: the contents as the host last wrote them, while no kernel has written the storage since,
     * else null. Labels come from the host, so oneHot can check them here instead of waiting for the device.
     */
    volatile int[] hostInts;

    CudaStorage(DType dtype, int numel, long address) {
        super(dtype, numel);
        this.address = address;
    }

    /** The device address of element {@code index}. */
    long at(long index) {
        return address + index * dtype().bytes();
    }
}
