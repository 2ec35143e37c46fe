package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.Storage;

/** Counts the tensors (views included) that share one storage and frees it when the last lets go. */
final class StorageRef {
    final Backend backend;
    final Storage storage;
    private int refs = 1;
    private boolean claimed;

    StorageRef(Backend backend, Storage storage) {
        this.backend = backend;
        this.storage = storage;
    }

    /** The storage's size in bytes the first time this is called, then 0: the safety net counts it once. */
    synchronized long claimBytes() {
        if (claimed) {
            return 0;
        }
        claimed = true;
        return (long) Math.max(1, storage.numel()) * storage.dtype().bytes();
    }

    synchronized void retain() {
        if (refs <= 0) {
            throw new IllegalStateException("storage already released");
        }
        refs++;
    }

    void release() {
        boolean last;
        synchronized (this) {
            last = --refs == 0;
        }
        if (last) {
            backend.free(storage);
        }
    }
}
