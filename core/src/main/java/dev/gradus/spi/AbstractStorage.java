package dev.gradus.spi;

import dev.gradus.DType;

/**
 * The part of a {@link Storage} every backend's has alike: its element type and capacity, fixed at allocation.
 *
 * <pre>{@code final class MyStorage extends AbstractStorage { MyStorage(DType t, int n) { super(t, n); } }}</pre>
 */
public abstract class AbstractStorage implements Storage {
    private final DType dtype;
    private final int numel;

    protected AbstractStorage(DType dtype, int numel) {
        this.dtype = dtype;
        this.numel = numel;
    }

    @Override
    public final DType dtype() {
        return dtype;
    }

    @Override
    public final int numel() {
        return numel;
    }
}
