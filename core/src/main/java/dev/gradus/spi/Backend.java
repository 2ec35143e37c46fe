package dev.gradus.spi;

import dev.gradus.DType;
import dev.gradus.Device;
import java.util.Map;

/**
 * The compute a tensor library needs from a device: memory, elementwise maps, reductions, GEMM and a few fused
 * kernels.
 *
 * <p>Backends see storages, layouts and numbers, never tensors or the autodiff graph. Layouts passed in are
 * valid for their storages; core checks shapes before calling. Unless a method says otherwise, inputs may be
 * strided (including stride 0 for broadcast axes) and outputs are written through their layout.
 *
 * <pre>{@code
 * Storage a = backend.allocate(DType.FLOAT32, 6);
 * backend.write(a, 0, new float[] {1, 2, 3, 4, 5, 6}, 0, 6);
 * backend.unary(UnaryOp.RELU, 0f, a, Layout.contiguous(2, 3), a, Layout.contiguous(2, 3));
 * }</pre>
 */
public interface Backend {

    /** Short name used for selection: {@code "cpu"}, {@code "cuda"}. */
    String name();

    /** The device this backend computes on. */
    Device device();

    /** Allocates {@code numel} elements of undefined content. */
    Storage allocate(DType dtype, int numel);

    /** Returns a storage to the backend; using it afterwards is undefined. */
    void free(Storage storage);

    /** Copies {@code length} floats from the host into {@code dst} starting at element {@code offset}. */
    void write(Storage dst, int offset, float[] src, int srcOffset, int length);

    /** Copies {@code length} floats from {@code src} starting at element {@code offset} to the host. */
    void read(Storage src, int offset, float[] dst, int dstOffset, int length);

    /** As {@link #write} for {@code INT32} storages. */
    void writeInts(Storage dst, int offset, int[] src, int srcOffset, int length);

    /** As {@link #read} for {@code INT32} storages. */
    void readInts(Storage src, int offset, int[] dst, int dstOffset, int length);

    /** Sets every element addressed by {@code layout} to {@code value}. */
    void fill(Storage dst, Layout layout, float value);

    /**
     * {@code out = op(x, scalar)} elementwise; {@code x} and {@code out} have the same shape. {@code IDENTITY}
     * also converts between {@code FLOAT32} and {@code INT32}.
     */
    void unary(UnaryOp op, float scalar, Storage x, Layout xLayout, Storage out, Layout outLayout);

    /** {@code out = op(a, b)} elementwise; all three layouts have the output's shape (broadcast by strides). */
    void binary(BinaryOp op, Storage a, Layout aLayout, Storage b, Layout bLayout, Storage out, Layout outLayout);

    /**
     * Reduces a contiguous {@code x} along {@code axis} into contiguous {@code out} (the shape without that
     * axis), starting at element {@code outOffset}.
     */
    void reduce(ReduceOp op, Storage x, Layout xLayout, int axis, Storage out, int outOffset);

    /**
     * {@code out[b] = a[b] x bMat[b]} for {@code a: [..., M, K]}, {@code bMat: [..., K, N]}, contiguous
     * {@code out: [..., M, N]}; batch dimensions are equal (stride 0 where broadcast).
     */
    void matmul(Storage a, Layout aLayout, Storage b, Layout bLayout, Storage out, Layout outLayout);

    /** Row-wise log-softmax of a contiguous {@code [rows, cols]} block. */
    void logSoftmax(Storage x, int xOffset, int rows, int cols, Storage out, int outOffset);

    /**
     * Writes the one-hot encoding {@code [n, classes]} of {@code INT32} labels.
     *
     * @throws IllegalArgumentException naming the first label outside {@code [0, classes)}
     */
    void oneHot(Storage labels, int offset, int n, int classes, Storage out);

    /** One fused Adam update of {@code n} parameters in place, updating moment buffers {@code m} and {@code v}. */
    void adamStep(Storage param, Storage grad, Storage m, Storage v, int n, AdamStep hyper);

    /** One fused SGD update of {@code n} parameters in place; {@code momentumBuf} is null without momentum. */
    void sgdStep(Storage param, Storage grad, Storage momentumBuf, int n, SgdStep hyper);

    /** Live, reserved and allocation counters. */
    MemoryStats memory();

    /** Waits for queued work (a no-op on synchronous backends). */
    default void synchronize() {
    }

    /** Human-readable facts for diagnostics: library versions, kernel sets, thread counts. */
    Map<String, String> describe();
}
