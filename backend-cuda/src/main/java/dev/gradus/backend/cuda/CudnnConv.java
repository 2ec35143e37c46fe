package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.HostScalars.ONE;
import static dev.gradus.backend.cuda.HostScalars.ZERO;

import dev.gradus.spi.ConvParams;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntUnaryOperator;
import java.util.function.LongConsumer;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.IntPointer;

/**
 * Convolution forward and backward through cuDNN: descriptors and algorithms are chosen once per shape (cuDNN's
 * heuristics, first algorithm that reports success) and cached; workspaces come from the caching allocator, so
 * steady-state steps allocate nothing. Math is plain FP32 (no TF32) unless the backend was made with TF32 on.
 *
 * <p>Safe for many threads without a lock per call: a cuDNN handle must not be used by two threads at once, so each
 * call borrows one from a pool (every handle bound to the backend's one stream when made, so the work stays in
 * call order); plans are immutable once built and shared through a concurrent map.
 */
final class CudnnConv {
    private static final int ALGOS = 8;

    /** Everything cuDNN needs for one shape of convolution; immutable once built, so threads share it freely. */
    private static final class Plan {
        final cudnnTensorStruct x = new cudnnTensorStruct();
        final cudnnTensorStruct y = new cudnnTensorStruct();
        final cudnnTensorStruct bias = new cudnnTensorStruct();
        final cudnnFilterStruct w = new cudnnFilterStruct();
        final cudnnConvolutionStruct conv = new cudnnConvolutionStruct();
        final int fwdAlgo;
        final int bwdDataAlgo;
        final int bwdFilterAlgo;
        final long fwdBytes;
        final long bwdDataBytes;
        final long bwdFilterBytes;

        Plan(cudnnContext handle, int[] xs, int[] ws, int[] ys, ConvParams p, boolean tf32) {
            int f = cudnn.CUDNN_DATA_FLOAT;
            int nchw = cudnn.CUDNN_TENSOR_NCHW;
            tensor4d(x, xs[0], xs[1], xs[2], xs[3], "x descriptor " + Arrays.toString(xs));
            tensor4d(y, ys[0], ys[1], ys[2], ys[3], "y descriptor " + Arrays.toString(ys));
            tensor4d(bias, 1, ws[0], 1, 1, "bias descriptor");
            check(cudnn.cudnnCreateFilterDescriptor(w), "cudnnCreateFilterDescriptor");
            check(
                    cudnn.cudnnSetFilter4dDescriptor(w, f, nchw, ws[0], ws[1], ws[2], ws[3]),
                    "w descriptor " + Arrays.toString(ws));
            check(cudnn.cudnnCreateConvolutionDescriptor(conv), "cudnnCreateConvolutionDescriptor");
            check(
                    cudnn.cudnnSetConvolution2dDescriptor(
                            conv,
                            p.padH(),
                            p.padW(),
                            p.strideH(),
                            p.strideW(),
                            p.dilationH(),
                            p.dilationW(),
                            cudnn.CUDNN_CROSS_CORRELATION,
                            f),
                    "convolution descriptor " + p);
            check(cudnn.cudnnSetConvolutionGroupCount(conv, p.groups()), "group count " + p.groups());
            check(
                    cudnn.cudnnSetConvolutionMathType(conv, tf32 ? cudnn.CUDNN_DEFAULT_MATH : cudnn.CUDNN_FMA_MATH),
                    "math type");
            cudnnConvolutionFwdAlgoPerf_t fwd = new cudnnConvolutionFwdAlgoPerf_t(ALGOS);
            cudnnConvolutionBwdDataAlgoPerf_t bd = new cudnnConvolutionBwdDataAlgoPerf_t(ALGOS);
            cudnnConvolutionBwdFilterAlgoPerf_t bf = new cudnnConvolutionBwdFilterAlgoPerf_t(ALGOS);
            int fi;
            int di;
            int wi;
            try (IntPointer count = new IntPointer(1)) {
                check(
                        cudnn.cudnnGetConvolutionForwardAlgorithm_v7(handle, x, w, conv, y, ALGOS, count, fwd),
                        "choosing the forward algorithm");
                fi = firstSuccess(count.get(), i -> fwd.position(i).status());
                check(
                        cudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, w, y, conv, x, ALGOS, count, bd),
                        "choosing the backward-data algorithm");
                di = firstSuccess(count.get(), i -> bd.position(i).status());
                check(
                        cudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, x, y, conv, w, ALGOS, count, bf),
                        "choosing the backward-filter algorithm");
                wi = firstSuccess(count.get(), i -> bf.position(i).status());
            }
            if (fi < 0 || di < 0 || wi < 0) {
                throw new IllegalStateException("cuda: cuDNN has no algorithm for conv2d " + Arrays.toString(xs) + " * "
                        + Arrays.toString(ws) + " " + p);
            }
            fwdAlgo = fwd.position(fi).algo();
            fwdBytes = fwd.memory();
            bwdDataAlgo = bd.position(di).algo();
            bwdDataBytes = bd.memory();
            bwdFilterAlgo = bf.position(wi).algo();
            bwdFilterBytes = bf.memory();
        }

        private static void tensor4d(cudnnTensorStruct d, int n, int c, int h, int w, String what) {
            check(cudnn.cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor");
            check(
                    cudnn.cudnnSetTensor4dDescriptor(d, cudnn.CUDNN_TENSOR_NCHW, cudnn.CUDNN_DATA_FLOAT, n, c, h, w),
                    what);
        }

        /** The first of {@code count} ranked results (cuDNN's heuristics, best first) that reports success, or -1. */
        private static int firstSuccess(int count, IntUnaryOperator statusAt) {
            for (int i = 0; i < count; i++) {
                if (statusAt.applyAsInt(i) == cudnn.CUDNN_STATUS_SUCCESS) {
                    return i;
                }
            }
            return -1;
        }
    }

    /** cuDNN handles, each bound to the backend's stream when made. */
    private final HandlePool<cudnnContext> handles;

    private final CachingAllocator allocator;
    private final boolean tf32;
    private final Map<String, Plan> plans = new ConcurrentHashMap<>();

    CudnnConv(CUstream_st stream, CachingAllocator allocator, boolean tf32) {
        this.allocator = allocator;
        this.tf32 = tf32;
        this.handles = new HandlePool<>(() -> newHandle(stream));
    }

    private static cudnnContext newHandle(CUstream_st stream) {
        cudnnContext h = new cudnnContext();
        check(cudnn.cudnnCreate(h), "cudnnCreate");
        // Bound once: cudnnSetStream is state of the handle, so it is never changed while another thread may use it.
        check(cudnn.cudnnSetStream(h, stream), "cudnnSetStream");
        return h;
    }

    private static void check(int status, String what) {
        if (status != cudnn.CUDNN_STATUS_SUCCESS) {
            throw new IllegalStateException("cuda: " + what + " failed: "
                    + cudnn.cudnnGetErrorString(status).getString());
        }
    }

    /** The plan of a shape, built by the first thread that needs it while others wait only for that shape. */
    private Plan plan(cudnnContext handle, int[] xs, int[] ws, int[] ys, ConvParams p) {
        String key = Arrays.toString(xs) + Arrays.toString(ws) + Arrays.toString(ys) + p;
        Plan pl = plans.get(key);
        return pl != null ? pl : plans.computeIfAbsent(key, k -> new Plan(handle, xs, ws, ys, p, tf32));
    }

    /** Runs {@code body} with a workspace of {@code bytes} (0: none) from the allocator. */
    private void withWorkspace(long bytes, LongConsumer body) {
        if (bytes == 0) {
            body.accept(0L);
            return;
        }
        long ws = allocator.allocate(bytes);
        try {
            body.accept(ws);
        } finally {
            // Stream-ordered: every thread queues on the backend's one stream, so the next user of this block, on any
            // thread, queues behind this call.
            allocator.release(ws);
        }
    }

    void forward(long x, int[] xs, long w, int[] ws, long bias, long y, int[] ys, ConvParams p) {
        handles.run(handle -> {
            Plan pl = plan(handle, xs, ws, ys, p);
            withWorkspace(
                    pl.fwdBytes,
                    work -> check(
                            cudnn.cudnnConvolutionForward(
                                    handle,
                                    ONE,
                                    pl.x,
                                    Cuda.pointer(x),
                                    pl.w,
                                    Cuda.pointer(w),
                                    pl.conv,
                                    pl.fwdAlgo,
                                    work == 0 ? null : Cuda.pointer(work),
                                    pl.fwdBytes,
                                    ZERO,
                                    pl.y,
                                    Cuda.pointer(y)),
                            "cudnnConvolutionForward"));
            if (bias != 0) {
                check(
                        cudnn.cudnnAddTensor(handle, ONE, pl.bias, Cuda.pointer(bias), ONE, pl.y, Cuda.pointer(y)),
                        "cudnnAddTensor (bias)");
            }
        });
    }

    void backwardData(long dy, int[] ys, long w, int[] ws, long dx, int[] xs, ConvParams p) {
        handles.run(handle -> {
            Plan pl = plan(handle, xs, ws, ys, p);
            withWorkspace(
                    pl.bwdDataBytes,
                    work -> check(
                            cudnn.cudnnConvolutionBackwardData(
                                    handle,
                                    ONE,
                                    pl.w,
                                    Cuda.pointer(w),
                                    pl.y,
                                    Cuda.pointer(dy),
                                    pl.conv,
                                    pl.bwdDataAlgo,
                                    work == 0 ? null : Cuda.pointer(work),
                                    pl.bwdDataBytes,
                                    ZERO,
                                    pl.x,
                                    Cuda.pointer(dx)),
                            "cudnnConvolutionBackwardData"));
        });
    }

    void backwardFilter(long x, int[] xs, long dy, int[] ys, long dw, int[] ws, long dBias, ConvParams p) {
        handles.run(handle -> {
            Plan pl = plan(handle, xs, ws, ys, p);
            withWorkspace(
                    pl.bwdFilterBytes,
                    work -> check(
                            cudnn.cudnnConvolutionBackwardFilter(
                                    handle,
                                    ONE,
                                    pl.x,
                                    Cuda.pointer(x),
                                    pl.y,
                                    Cuda.pointer(dy),
                                    pl.conv,
                                    pl.bwdFilterAlgo,
                                    work == 0 ? null : Cuda.pointer(work),
                                    pl.bwdFilterBytes,
                                    ZERO,
                                    pl.w,
                                    Cuda.pointer(dw)),
                            "cudnnConvolutionBackwardFilter"));
            if (dBias != 0) {
                check(
                        cudnn.cudnnConvolutionBackwardBias(
                                handle, ONE, pl.y, Cuda.pointer(dy), ZERO, pl.bias, Cuda.pointer(dBias)),
                        "cudnnConvolutionBackwardBias");
            }
        });
    }

    /** Algorithms chosen so far, for {@code describe()}. */
    int plans() {
        return plans.size();
    }

    /** Idle cuDNN handles: once no call runs, every handle made, at most the number of calls that ever overlapped. */
    int idleHandles() {
        return handles.idle();
    }
}
