package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.Storage;

/** Counts the tensors (views included) that share one storage and frees it when the last lets go. */
final class StorageRef {
    final Backend backend;
    final Storage storage;
    private int refs = 1;

    StorageRef(Backend backend, Storage storage) {
        this.backend = backend;
        this.storage = storage;
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
