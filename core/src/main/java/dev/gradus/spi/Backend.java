package dev.gradus.spi;

import dev.gradus.DType;
import dev.gradus.Device;
import java.util.Map;

/**
 * The compute a tensor library needs from a device: memory, elementwise maps, reductions, GEMM, a few fused
 * kernels, and the kernels ops and optimizers register ({@link #runKernel}, {@link #runUpdate}).
 *
 * <p>Backends see storages, layouts and numbers, never tensors or the autodiff graph. Every tensor argument is an
 * {@link Operand} (storage + layout), valid for its storage; core checks shapes before calling. Element-wise ops,
 * reductions and GEMM take any strides (stride 0 for broadcast axes) and write through the output's layout; the
 * fused kernels take dense operands and check ({@link Operand#requireDense}). Host transfers ({@link #write},
 * {@link #read}) address raw elements of a storage.
 *
 * <pre>{@code
 * Storage a = backend.allocate(DType.FLOAT32, 6);
 * backend.write(a, 0, new float[] {1, 2, 3, 4, 5, 6}, 0, 6);
 * Operand x = Operand.dense(a, 2, 3);
 * backend.unary(UnaryOp.RELU, 0f, x, x);
 * }</pre>
 */
public interface Backend {

    /** Short name used for selection: {@code "cpu"}, {@code "cuda"}. */
    String name();

    /** The device this backend computes on. */
    Device device();

    /**
     * The most elements of {@code dtype} one storage may hold; core refuses larger tensors with a message naming the
     * shape and this limit before calling {@link #allocate}.
     */
    default int maxElements(DType dtype) {
        return Integer.MAX_VALUE;
    }

    /** Allocates {@code numel} elements of undefined content (at most {@link #maxElements}). */
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

    /** Sets every element of {@code dst} to {@code value}. */
    void fill(Operand dst, float value);

    /**
     * {@code out = op(x, scalar)} elementwise; {@code x} and {@code out} have the same shape. {@code IDENTITY}
     * also converts between {@code FLOAT32} and {@code INT32}.
     */
    void unary(UnaryOp op, float scalar, Operand x, Operand out);

    /** {@code out = op(a, b)} elementwise; all three have the output's shape ({@code a}, {@code b} broadcast by strides). */
    void binary(BinaryOp op, Operand a, Operand b, Operand out);

    /**
     * Reduces a contiguous {@code x} along {@code axis} into contiguous {@code out}, whose shape is {@code x}'s
     * without that axis or with it kept at size 1 ({@code sum(axis, true)} passes the latter; the elements and their
     * order are the same either way); offsets may be non-zero.
     */
    void reduce(ReduceOp op, Operand x, int axis, Operand out);

    /**
     * {@code out[b] = a[b] x b[b]} for {@code a: [..., M, K]}, {@code b: [..., K, N]}, contiguous
     * {@code out: [..., M, N]}; batch dimensions are equal (stride 0 where broadcast).
     */
    void matmul(Operand a, Operand b, Operand out);

    /** Log-softmax along the last axis of dense {@code x} into dense {@code out} of the same shape. */
    void logSoftmax(Operand x, Operand out);

    /**
     * Writes the one-hot encoding, dense {@code out [N, C]}, of dense {@code INT32} labels {@code [N]}.
     *
     * @throws IllegalArgumentException naming the first label outside {@code [0, C)}
     */
    void oneHot(Operand labels, Operand out);

    /**
     * {@link IndexOp#GATHER} or {@link IndexOp#SCATTER_ADD} along {@code axis}. {@code index} (INT32) may be any
     * layout, broadcast included; {@code x} has {@code index}'s shape for a scatter and {@code out}'s rank for a
     * gather, whose {@code out} has {@code index}'s shape. A scatter adds into {@code out}'s current values. Every
     * index must lie in {@code [0, size)} of the addressed tensor's {@code axis}.
     *
     * @throws IllegalArgumentException naming the op, the bad index and its position
     */
    void index(IndexOp op, int axis, Operand x, Operand index, Operand out);

    /**
     * 2-D convolution (cross-correlation, as PyTorch) of dense NCHW operands: {@code x [N, C, H, W]},
     * {@code w [K, C/groups, R, S]}, optional {@code bias [K]} (null for none), {@code out [N, K, P, Q]}.
     */
    void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p);

    /**
     * {@link #conv2d} with {@code activation} applied to the result ({@code RELU} is what the layers ask for), the
     * form a backend can fuse into one pass over {@code out}; the default runs the two one after the other.
     */
    default void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p, UnaryOp activation) {
        conv2d(x, w, bias, out, p);
        if (activation != UnaryOp.IDENTITY) {
            unary(activation, 0f, out, out);
        }
    }

    /** Gradient of {@link #conv2d} with respect to its input: {@code dx [N, C, H, W]} (overwritten). */
    void conv2dBackwardData(Operand dOut, Operand w, Operand dx, ConvParams p);

    /**
     * Gradients of {@link #conv2d} with respect to the filter {@code dw [K, C/groups, R, S]} and, when
     * {@code dBias} is not null, the bias {@code [K]} (both overwritten).
     */
    void conv2dBackwardFilter(Operand x, Operand dOut, Operand dw, Operand dBias, ConvParams p);

    /**
     * 2-D pooling of a dense NCHW {@code x}; for {@code MAX}, {@code argmax} (INT32, the output's shape) receives
     * the index {@code h * W + w} of each maximum within its input plane, and is null for {@code AVG}.
     */
    void pool2d(PoolOp op, Operand x, Operand out, Operand argmax, PoolParams p);

    /** Gradient of {@link #pool2d}: {@code dx [N, C, H, W]} (overwritten). */
    void pool2dBackward(PoolOp op, Operand dOut, Operand argmax, Operand dx, PoolParams p);

    /**
     * Batch normalisation in training mode of dense {@code x [N, C, ...]} over every axis but 1: normalises with
     * the batch's mean and biased variance, applies {@code p.gamma()}/{@code p.beta()} (null for none), writes the
     * mean and {@code 1/sqrt(var + eps)} per channel into {@code p.saveMean()}/{@code p.saveInvStd()}, and, when
     * {@code p.runningMean()} is not null, updates the running statistics with {@code p.momentum()} (the variance
     * unbiased, as PyTorch).
     */
    void batchNormTrain(Operand x, Operand out, BatchNormArgs p);

    /**
     * Gradients of {@link #batchNormTrain} from the statistics it saved in {@code p}: {@code dx} (overwritten) and,
     * when not null, {@code dGamma} and {@code dBeta} per channel (overwritten).
     */
    void batchNormBackward(Operand x, Operand dOut, BatchNormArgs p, Operand dx, Operand dGamma, Operand dBeta);

    /**
     * {@code out[n, c, ...] = x[n, c, ...] * scale[c] + shift[c]} in one pass over dense {@code x [N, C, ...]}:
     * batch norm in evaluation mode once its statistics are folded into {@code scale} and {@code shift} {@code [C]}.
     */
    void channelAffine(Operand x, Operand scale, Operand shift, Operand out);

    /**
     * Runs the kernel of an op registered through core's {@code dev.gradus.ops.Op}: {@code out = op(inputs)}, with
     * contiguous FLOAT32 {@code inputs} (any offset) and a dense FLOAT32 {@code out} whose shapes core has checked
     * ({@link OpKernels#check} states it). A backend runs {@link OpKernels#java} on views of its memory, or its own
     * form of the kernel ({@link OpKernels#cuda}); the default runs the Java kernel on host copies through
     * {@link #read} and {@link #write}, so a backend that does nothing here still runs every op.
     */
    default void runKernel(OpKernels kernels, Operand[] inputs, Operand out) {
        kernels.runOnHost(this, inputs, out);
    }

    /**
     * Runs an elementwise in-place update registered by core (an optimizer's fused step, see
     * {@code dev.gradus.optim}): element {@code i} of every {@code updated} operand is rewritten from element
     * {@code i} of the operands and the {@code scalars}, all operands contiguous FLOAT32 of one size
     * ({@link UpdateKernels#check} states it). A backend runs {@link UpdateKernels#java} on views of its memory (over
     * ranges it may split between threads), or its own form of the kernel ({@link UpdateKernels#cuda}); the default
     * runs the Java kernel on host copies through {@link #read} and {@link #write}, so a backend that does nothing
     * here still runs every update.
     */
    default void runUpdate(UpdateKernels kernels, Operand[] updated, Operand[] inputs, float[] scalars) {
        kernels.runOnHost(this, updated, inputs, scalars);
    }

    /** Live, reserved and allocation counters. */
    MemoryStats memory();

    /**
     * Gives the memory cached for reuse ({@link MemoryStats#reservedBytes()}) back to the system, as PyTorch's
     * {@code torch.cuda.empty_cache()}; live tensors are untouched. The next steps allocate afresh.
     */
    default void trim() {}

    /** Waits for queued work (a no-op on synchronous backends). */
    default void synchronize() {}

    /** Human-readable facts for diagnostics: library versions, kernel sets, thread counts. */
    Map<String, String> describe();
}
