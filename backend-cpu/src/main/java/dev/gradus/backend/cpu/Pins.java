package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.asStored;

import dev.gradus.spi.Operand;
import dev.gradus.spi.Storage;

/**
 * The storages of one op, held until it ends ({@link CpuStorage#pin}): a tensor another thread closes meanwhile
 * is recycled only after the op. Null operands are skipped.
 */
final class Pins implements AutoCloseable {
    private final CpuAllocator allocator;
    private final CpuStorage[] held;
    private int count;

    private Pins(CpuAllocator allocator, Operand[] ops, Storage[] storages) {
        this.allocator = allocator;
        held = new CpuStorage[ops == null ? storages.length : ops.length];
        try {
            if (ops == null) {
                for (Storage st : storages) {
                    hold(st);
                }
            } else {
                for (Operand o : ops) {
                    hold(o == null ? null : o.storage());
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void hold(Storage st) {
        if (st == null) {
            return; // an absent optional operand (a bias, an argmax)
        }
        CpuStorage c = asStored(st);
        c.pin();
        held[count++] = c;
    }

    @Override
    public void close() {
        for (int k = 0; k < count; k++) {
            if (held[k].unpin()) {
                allocator.recycle(held[k]);
            }
        }
        count = 0;
    }

    /** Pins the storages of {@code ops}. */
    static Pins of(CpuAllocator allocator, Operand... ops) {
        return new Pins(allocator, ops, null);
    }

    /** Pins {@code storages}. */
    static Pins of(CpuAllocator allocator, Storage... storages) {
        return new Pins(allocator, null, storages);
    }
}
