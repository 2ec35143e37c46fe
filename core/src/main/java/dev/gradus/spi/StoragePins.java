package dev.gradus.spi;

import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The storages of one op, held until it ends ({@link PinnableStorage#pin}); a storage its tensor released meanwhile
 * goes to {@code free} when the op lets go. Null operands (an absent bias) are skipped.
 *
 * <pre>{@code try (var pins = StoragePins.of(CpuStorage::mine, allocator::recycle, x, w, out)) { ...kernel... }}</pre>
 */
public final class StoragePins<S extends PinnableStorage> implements AutoCloseable {
    private final Consumer<S> free;
    private final Object[] held;
    private int count;

    private StoragePins(Function<Storage, S> resolve, Consumer<S> free, Operand[] ops, Storage[] storages) {
        this.free = free;
        held = new Object[ops == null ? storages.length : ops.length];
        try {
            // The operands as given, not copied into an array of storages: this runs once per op.
            for (int k = 0; k < held.length; k++) {
                Storage st = ops == null ? storages[k] : ops[k] == null ? null : ops[k].storage();
                if (st != null) {
                    S s = resolve.apply(st);
                    s.pin();
                    held[count++] = s;
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Pins the storages of {@code ops}, each checked and cast by {@code resolve}. */
    public static <S extends PinnableStorage> StoragePins<S> of(
            Function<Storage, S> resolve, Consumer<S> free, Operand... ops) {
        return new StoragePins<>(resolve, free, ops, null);
    }

    /** Pins {@code storages}, each checked and cast by {@code resolve}. */
    public static <S extends PinnableStorage> StoragePins<S> of(
            Function<Storage, S> resolve, Consumer<S> free, Storage... storages) {
        return new StoragePins<>(resolve, free, null, storages);
    }

    @Override
    @SuppressWarnings("unchecked")
    public void close() {
        for (int k = 0; k < count; k++) {
            S s = (S) held[k];
            if (s.unpin()) {
                free.accept(s);
            }
        }
        count = 0;
    }
}
