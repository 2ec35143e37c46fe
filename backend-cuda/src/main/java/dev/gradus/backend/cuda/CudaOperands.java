package dev.gradus.backend.cuda;

import dev.gradus.spi.Operand;
import dev.gradus.spi.Storage;

/** The checks between the SPI's storages and operands and this backend's {@link CudaStorage}s. */
final class CudaOperands {
    private CudaOperands() {}

    /** The storage as this backend's, checked: from this backend and not yet freed. */
    static CudaStorage cuda(Storage s) {
        if (s instanceof CudaStorage c) {
            if (!c.inUse()) {
                throw new IllegalStateException(
                        "cuda backend: storage of " + c.numel() + " " + c.dtype() + " used after it was freed");
            }
            return c;
        }
        throw new IllegalArgumentException("cuda backend: storage from another backend ("
                + (s == null ? "null" : s.getClass().getName()) + ")");
    }

    /** {@link #cuda} for a storage a kernel is about to write: what the host knew of its contents is stale. */
    static CudaStorage written(Storage s) {
        CudaStorage c = cuda(s);
        c.hostInts = null;
        return c;
    }

    /** The device address of an operand's storage (0 for an absent one): a kernel argument. */
    static long addr(Operand o) {
        return o == null ? 0L : cuda(o.storage()).address;
    }

    /** Throws when {@code [offset, offset + length)} is not inside {@code s}; {@code op} names the caller. */
    static void checkRange(CudaStorage s, int offset, int length, String op) {
        if (offset < 0 || length < 0 || (long) offset + length > s.numel()) {
            throw new IndexOutOfBoundsException("cuda " + op + ": elements [" + offset + ", " + ((long) offset + length)
                    + ") of a storage of " + s.numel());
        }
    }
}
