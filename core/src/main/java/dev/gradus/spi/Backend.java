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

    /**
     * 2-D convolution (cross-correlation, as PyTorch) of dense NCHW tensors starting at element 0:
     * {@code x [N, C, H, W]}, {@code w [K, C/groups, R, S]}, optional {@code bias [K]} (null for none),
     * {@code out [N, K, P, Q]}.
     */
    void conv2d(Storage x, int[] xShape, Storage w, int[] wShape, Storage bias, Storage out, int[] outShape,
                ConvParams p);

    /**
     * {@link #conv2d} with {@code activation} applied to the result ({@code RELU} is what the layers ask for), the
     * form a backend can fuse into one pass over {@code out}; the default runs the two one after the other.
     */
    default void conv2d(Storage x, int[] xShape, Storage w, int[] wShape, Storage bias, Storage out, int[] outShape,
                        ConvParams p, UnaryOp activation) {
        conv2d(x, xShape, w, wShape, bias, out, outShape, p);
        if (activation != UnaryOp.IDENTITY) {
            Layout l = Layout.contiguous(outShape);
            unary(activation, 0f, out, l, out, l);
        }
    }

    /** Gradient of {@link #conv2d} with respect to its input: {@code dx [N, C, H, W]} (overwritten). */
    void conv2dBackwardData(Storage dOut, int[] outShape, Storage w, int[] wShape, Storage dx, int[] xShape,
                            ConvParams p);

    /**
     * Gradients of {@link #conv2d} with respect to the filter {@code dw [K, C/groups, R, S]} and, when
     * {@code dBias} is not null, the bias {@code [K]} (both overwritten).
     */
    void conv2dBackwardFilter(Storage x, int[] xShape, Storage dOut, int[] outShape, Storage dw, int[] wShape,
                              Storage dBias, ConvParams p);

    /**
     * 2-D pooling of a dense NCHW tensor; for {@code MAX}, {@code argmax} (INT32, the output's size) receives the
     * index {@code h * W + w} of each maximum within its input plane.
     */
    void pool2d(PoolOp op, Storage x, int[] xShape, Storage out, int[] outShape, Storage argmax, PoolParams p);

    /** Gradient of {@link #pool2d}: {@code dx [N, C, H, W]} (overwritten). */
    void pool2dBackward(PoolOp op, Storage dOut, int[] outShape, Storage argmax, Storage dx, int[] xShape,
                        PoolParams p);

    /**
     * Batch normalisation in training mode over a dense {@code [n, c, hw]} block (NCHW with {@code hw = H*W}, or
     * {@code [N, C]} with {@code hw = 1}): normalises with the batch's mean and biased variance, applies
     * {@code gamma}/{@code beta} (null for none), writes the mean and {@code 1/sqrt(var + eps)} per channel into
     * {@code saveMean}/{@code saveInvStd}, and, when {@code runningMean} is not null, updates the running
     * statistics with {@code momentum} (the variance unbiased, as PyTorch).
     */
    void batchNormTrain(Storage x, int n, int c, int hw, Storage gamma, Storage beta, float eps, float momentum,
                        Storage runningMean, Storage runningVar, Storage out, Storage saveMean, Storage saveInvStd);

    /**
     * Gradients of {@link #batchNormTrain}: {@code dx} (overwritten) and, when not null, {@code dGamma} and
     * {@code dBeta} per channel (overwritten).
     */
    void batchNormBackward(Storage x, Storage dOut, int n, int c, int hw, Storage gamma, Storage saveMean,
                           Storage saveInvStd, Storage dx, Storage dGamma, Storage dBeta);

    /** Live, reserved and allocation counters. */
    MemoryStats memory();

    /**
     * Gives the memory cached for reuse ({@link MemoryStats#reservedBytes()}) back to the system, as PyTorch's
     * {@code torch.cuda.empty_cache()}; live tensors are untouched. The next steps allocate afresh.
     */
    default void trim() {
    }

    /** Waits for queued work (a no-op on synchronous backends). */
    default void synchronize() {
    }

    /** Human-readable facts for diagnostics: library versions, kernel sets, thread counts. */
    Map<String, String> describe();
}
