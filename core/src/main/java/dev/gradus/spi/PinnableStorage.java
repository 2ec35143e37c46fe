package dev.gradus.spi;

import dev.gradus.DType;

/**
 * A storage that an op can hold while it runs ({@link #pin}), so that a tensor closed meanwhile on another thread
 * gives its memory back only when the last op holding it lets go ({@link #unpin}), never under a running kernel.
 *
 * <p>States: handed out ({@link #inUse()}), released by its tensor while still held, then out of use. A storage
 * used or freed after its release throws an {@link IllegalStateException} naming it.
 *
 * <pre>{@code try (StoragePins<MyStorage> pins = StoragePins.of(this::mine, this::recycle, x, out)) { ...kernel... }}</pre>
 */
public abstract class PinnableStorage extends AbstractStorage {
    private volatile boolean inUse;
    /** Ops holding this storage now; guarded by {@code this}. */
    private int pins;
    /** Its tensor let go of it; guarded by {@code this}. */
    private boolean released;

    /** A storage of {@code numel} elements, handed out already ({@code inUse}) or to be {@link #claim}ed. */
    protected PinnableStorage(DType dtype, int numel, boolean inUse) {
        super(dtype, numel);
        this.inUse = inUse;
    }

    /** How messages name this storage, e.g. {@code "cpu backend: storage"}. */
    protected abstract String what();

    /**
     * True when letting go of a released storage also takes it out of use here (a device block goes back to its
     * allocator at once); false when the backend's own recycling does that ({@link #retire}).
     */
    protected abstract boolean leavesUseWhenFreed();

    /** Handed out and not yet back with its backend. */
    public final boolean inUse() {
        return inUse;
    }

    /** Marks the storage as handed out (again), with no holds and not released. */
    protected final synchronized void claim() {
        inUse = true;
        released = false;
        pins = 0;
    }

    /** Marks the storage as back with its backend. */
    protected final void retire() {
        inUse = false;
    }

    /** Holds the storage for one op; throws when its tensor already let go of it. */
    public final synchronized void pin() {
        if (released || !inUse) {
            throw new IllegalStateException(what() + " used after it was released (its tensor was closed)");
        }
        pins++;
    }

    /** Ends one op's hold; true when the storage was released meanwhile and this was the last hold. */
    public final synchronized boolean unpin() {
        if (--pins == 0 && released) {
            if (leavesUseWhenFreed()) {
                inUse = false;
            }
            return true;
        }
        return false;
    }

    /** Its tensor lets go; true when no op holds it, so it may go back now (else the last {@link #unpin} says so). */
    public final synchronized boolean release() {
        if (released || !inUse) {
            throw new IllegalStateException(what() + " freed twice (used after it was freed)");
        }
        released = true;
        if (pins == 0) {
            if (leavesUseWhenFreed()) {
                inUse = false;
            }
            return true;
        }
        return false;
    }
}
