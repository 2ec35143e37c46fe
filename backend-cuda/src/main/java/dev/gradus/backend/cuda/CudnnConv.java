package dev.gradus.backend.cuda;

import dev.gradus.spi.ConvParams;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
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
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

/**
 * Convolution forward and backward through cuDNN: descriptors and algorithms are chosen once per shape (cuDNN's
 * heuristics, first algorithm that reports success) and cached; workspaces come from the caching allocator, so
 * steady-state steps allocate nothing. Math is plain FP32 (no TF32) unless the backend was made with TF32 on.
 * Calls are serialised: a cuDNN handle must not be used by two threads at once.
 */
final class CudnnConv {
    private static final int ALGOS = 8;

    /** Everything cuDNN needs for one shape of convolution. */
    private static final class Plan {
        final cudnnTensorStruct x = new cudnnTensorStruct();
        final cudnnTensorStruct y = new cudnnTensorStruct();
        final cudnnTensorStruct bias = new cudnnTensorStruct();
        final cudnnFilterStruct w = new cudnnFilterStruct();
        final cudnnConvolutionStruct conv = new cudnnConvolutionStruct();
        int fwdAlgo = -1;
        int bwdDataAlgo = -1;
        int bwdFilterAlgo = -1;
        long fwdBytes;
        long bwdDataBytes;
        long bwdFilterBytes;
    }

    private final cudnnContext handle = new cudnnContext();
    private final CachingAllocator allocator;
    private final boolean tf32;
    private final Map<String, Plan> plans = new HashMap<>();
    private final FloatPointer one = new FloatPointer(1).put(1f);
    private final FloatPointer zero = new FloatPointer(1).put(0f);

    CudnnConv(CUstream_st stream, CachingAllocator allocator, boolean tf32) {
        this.allocator = allocator;
        this.tf32 = tf32;
        check(cudnn.cudnnCreate(handle), "cudnnCreate");
        check(cudnn.cudnnSetStream(handle, stream), "cudnnSetStream");
    }

    private static void check(int status, String what) {
        if (status != cudnn.CUDNN_STATUS_SUCCESS) {
            throw new IllegalStateException("cuda: " + what + " failed: "
                    + cudnn.cudnnGetErrorString(status).getString());
        }
    }

    private synchronized Plan plan(int[] xs, int[] ws, int[] ys, ConvParams p) {
        String key = Arrays.toString(xs) + Arrays.toString(ws) + Arrays.toString(ys) + p;
        Plan pl = plans.get(key);
        if (pl != null) {
            return pl;
        }
        pl = new Plan();
        int f = cudnn.CUDNN_DATA_FLOAT;
        int nchw = cudnn.CUDNN_TENSOR_NCHW;
        check(cudnn.cudnnCreateTensorDescriptor(pl.x), "cudnnCreateTensorDescriptor");
        check(
                cudnn.cudnnSetTensor4dDescriptor(pl.x, nchw, f, xs[0], xs[1], xs[2], xs[3]),
                "x descriptor " + Arrays.toString(xs));
        check(cudnn.cudnnCreateTensorDescriptor(pl.y), "cudnnCreateTensorDescriptor");
        check(
                cudnn.cudnnSetTensor4dDescriptor(pl.y, nchw, f, ys[0], ys[1], ys[2], ys[3]),
                "y descriptor " + Arrays.toString(ys));
        check(cudnn.cudnnCreateTensorDescriptor(pl.bias), "cudnnCreateTensorDescriptor");
        check(cudnn.cudnnSetTensor4dDescriptor(pl.bias, nchw, f, 1, ws[0], 1, 1), "bias descriptor");
        check(cudnn.cudnnCreateFilterDescriptor(pl.w), "cudnnCreateFilterDescriptor");
        check(
                cudnn.cudnnSetFilter4dDescriptor(pl.w, f, nchw, ws[0], ws[1], ws[2], ws[3]),
                "w descriptor " + Arrays.toString(ws));
        check(cudnn.cudnnCreateConvolutionDescriptor(pl.conv), "cudnnCreateConvolutionDescriptor");
        check(
                cudnn.cudnnSetConvolution2dDescriptor(
                        pl.conv,
                        p.padH(),
                        p.padW(),
                        p.strideH(),
                        p.strideW(),
                        p.dilationH(),
                        p.dilationW(),
                        cudnn.CUDNN_CROSS_CORRELATION,
                        f),
                "convolution descriptor " + p);
        check(cudnn.cudnnSetConvolutionGroupCount(pl.conv, p.groups()), "group count " + p.groups());
        check(
                cudnn.cudnnSetConvolutionMathType(pl.conv, tf32 ? cudnn.CUDNN_DEFAULT_MATH : cudnn.CUDNN_FMA_MATH),
                "math type");
        try (IntPointer count = new IntPointer(1)) {
            cudnnConvolutionFwdAlgoPerf_t fwd = new cudnnConvolutionFwdAlgoPerf_t(ALGOS);
            check(
                    cudnn.cudnnGetConvolutionForwardAlgorithm_v7(handle, pl.x, pl.w, pl.conv, pl.y, ALGOS, count, fwd),
                    "choosing the forward algorithm");
            for (int i = 0; i < count.get() && pl.fwdAlgo < 0; i++) {
                if (fwd.position(i).status() == cudnn.CUDNN_STATUS_SUCCESS) {
                    pl.fwdAlgo = fwd.algo();
                    pl.fwdBytes = fwd.memory();
                }
            }
            cudnnConvolutionBwdDataAlgoPerf_t bd = new cudnnConvolutionBwdDataAlgoPerf_t(ALGOS);
            check(
                    cudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(
                            handle, pl.w, pl.y, pl.conv, pl.x, ALGOS, count, bd),
                    "choosing the backward-data algorithm");
            for (int i = 0; i < count.get() && pl.bwdDataAlgo < 0; i++) {
                if (bd.position(i).status() == cudnn.CUDNN_STATUS_SUCCESS) {
                    pl.bwdDataAlgo = bd.algo();
                    pl.bwdDataBytes = bd.memory();
                }
            }
            cudnnConvolutionBwdFilterAlgoPerf_t bf = new cudnnConvolutionBwdFilterAlgoPerf_t(ALGOS);
            check(
                    cudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                            handle, pl.x, pl.y, pl.conv, pl.w, ALGOS, count, bf),
                    "choosing the backward-filter algorithm");
            for (int i = 0; i < count.get() && pl.bwdFilterAlgo < 0; i++) {
                if (bf.position(i).status() == cudnn.CUDNN_STATUS_SUCCESS) {
                    pl.bwdFilterAlgo = bf.algo();
                    pl.bwdFilterBytes = bf.memory();
                }
            }
        }
        if (pl.fwdAlgo < 0 || pl.bwdDataAlgo < 0 || pl.bwdFilterAlgo < 0) {
            throw new IllegalStateException("cuda: cuDNN has no algorithm for conv2d " + Arrays.toString(xs) + " * "
                    + Arrays.toString(ws) + " " + p);
        }
        plans.put(key, pl);
        return pl;
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
            allocator.release(ws); // stream-ordered: the next user of this block queues behind this call
        }
    }

    synchronized void forward(long x, int[] xs, long w, int[] ws, long bias, long y, int[] ys, ConvParams p) {
        Plan pl = plan(xs, ws, ys, p);
        withWorkspace(
                pl.fwdBytes,
                work -> check(
                        cudnn.cudnnConvolutionForward(
                                handle,
                                one,
                                pl.x,
                                Cuda.pointer(x),
                                pl.w,
                                Cuda.pointer(w),
                                pl.conv,
                                pl.fwdAlgo,
                                work == 0 ? null : Cuda.pointer(work),
                                pl.fwdBytes,
                                zero,
                                pl.y,
                                Cuda.pointer(y)),
                        "cudnnConvolutionForward"));
        if (bias != 0) {
            check(
                    cudnn.cudnnAddTensor(handle, one, pl.bias, Cuda.pointer(bias), one, pl.y, Cuda.pointer(y)),
                    "cudnnAddTensor (bias)");
        }
    }

    synchronized void backwardData(long dy, int[] ys, long w, int[] ws, long dx, int[] xs, ConvParams p) {
        Plan pl = plan(xs, ws, ys, p);
        withWorkspace(
                pl.bwdDataBytes,
                work -> check(
                        cudnn.cudnnConvolutionBackwardData(
                                handle,
                                one,
                                pl.w,
                                Cuda.pointer(w),
                                pl.y,
                                Cuda.pointer(dy),
                                pl.conv,
                                pl.bwdDataAlgo,
                                work == 0 ? null : Cuda.pointer(work),
                                pl.bwdDataBytes,
                                zero,
                                pl.x,
                                Cuda.pointer(dx)),
                        "cudnnConvolutionBackwardData"));
    }

    synchronized void backwardFilter(long x, int[] xs, long dy, int[] ys, long dw, int[] ws, long dBias, ConvParams p) {
        Plan pl = plan(xs, ws, ys, p);
        withWorkspace(
                pl.bwdFilterBytes,
                work -> check(
                        cudnn.cudnnConvolutionBackwardFilter(
                                handle,
                                one,
                                pl.x,
                                Cuda.pointer(x),
                                pl.y,
                                Cuda.pointer(dy),
                                pl.conv,
                                pl.bwdFilterAlgo,
                                work == 0 ? null : Cuda.pointer(work),
                                pl.bwdFilterBytes,
                                zero,
                                pl.w,
                                Cuda.pointer(dw)),
                        "cudnnConvolutionBackwardFilter"));
        if (dBias != 0) {
            check(
                    cudnn.cudnnConvolutionBackwardBias(
                            handle, one, pl.y, Cuda.pointer(dy), zero, pl.bias, Cuda.pointer(dBias)),
                    "cudnnConvolutionBackwardBias");
        }
    }

    /** Algorithms chosen so far, for {@code describe()}. */
    synchronized int plans() {
        return plans.size();
    }
}
