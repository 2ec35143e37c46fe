package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaOperands.cuda;
import static dev.gradus.backend.cuda.HostScalars.ONE;
import static dev.gradus.backend.cuda.HostScalars.ZERO;

import dev.gradus.DType;
import dev.gradus.spi.Backend;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.Storage;
import dev.gradus.spi.UnaryOp;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Matrix products on cuBLAS from a pool of handles: {@link GemmPlan} maps row-major views onto column-major GEMM
 * calls, one per batch; a view cuBLAS cannot take is copied to a dense buffer first.
 */
final class CudaMatmul {
    /** cuBLAS handles, each bound to the stream and its math mode set when made. */
    private final HandlePool<cublasContext> blasHandles;

    /** The backend, for the odd-view path: copies to dense buffers and the product on them, through its ops. */
    private final Backend backend;

    CudaMatmul(CUstream_st stream, boolean tf32, Backend backend) {
        this.backend = backend;
        this.blasHandles = new HandlePool<>(() -> newBlasHandle(stream, tf32));
    }

    private static cublasContext newBlasHandle(CUstream_st stream, boolean tf32) {
        cublasContext h = new cublasContext();
        Cuda.checkBlas(cublas.cublasCreate_v2(h), "cublasCreate");
        Cuda.checkBlas(cublas.cublasSetStream_v2(h, stream), "cublasSetStream");
        Cuda.checkBlas(
                cublas.cublasSetMathMode(h, tf32 ? cublas.CUBLAS_TF32_TENSOR_OP_MATH : cublas.CUBLAS_DEFAULT_MATH),
                "cublasSetMathMode");
        return h;
    }

    /** cuBLAS handles made so far, idle now: tests check that concurrent calls got handles of their own. */
    int idleHandles() {
        return blasHandles.idle();
    }

    void matmul(Operand ao, Operand bo, Operand out) {
        Layout aLayout = ao.layout();
        Layout bLayout = bo.layout();
        Layout outLayout = out.layout();
        Storage a = ao.storage();
        Storage b = bo.storage();
        CudaStorage as = cuda(a);
        CudaStorage bs = cuda(b);
        CudaStorage os = cuda(out.storage());
        int r = outLayout.rank();
        int m = outLayout.shape()[r - 2];
        int n = outLayout.shape()[r - 1];
        int k = aLayout.shape()[r - 1];
        if (outLayout.numel() == 0) {
            return;
        }
        if (k == 0) {
            // A sum of no products: zeros, as PyTorch ([3, 0] x [0, 4]); cuBLAS takes no empty operand.
            backend.fill(out, 0f);
            return;
        }
        GemmPlan plan = GemmPlan.of(aLayout, bLayout, outLayout);
        if (plan == null) {
            // An odd view: copy the operand that cuBLAS cannot take to a dense buffer first.
            Storage[] tmp = new Storage[2];
            try {
                Layout al = aLayout;
                Layout bl = bLayout;
                if (GemmPlan.Operand.of(aLayout) == null) {
                    tmp[0] = backend.allocate(DType.FLOAT32, aLayout.numel());
                    al = Layout.contiguous(aLayout.shape());
                    backend.unary(UnaryOp.IDENTITY, 0f, ao, new Operand(tmp[0], al));
                }
                if (GemmPlan.Operand.of(bLayout) == null) {
                    tmp[1] = backend.allocate(DType.FLOAT32, bLayout.numel());
                    bl = Layout.contiguous(bLayout.shape());
                    backend.unary(UnaryOp.IDENTITY, 0f, bo, new Operand(tmp[1], bl));
                }
                backend.matmul(
                        tmp[0] != null ? new Operand(tmp[0], al) : ao,
                        tmp[1] != null ? new Operand(tmp[1], bl) : bo,
                        out);
            } finally {
                for (Storage t : tmp) {
                    if (t != null) {
                        backend.free(t);
                    }
                }
            }
            return;
        }
        blasHandles.run(blas -> {
            for (int bi = 0; bi < plan.outOffsets().length; bi++) {
                int status = cublas.cublasSgemm_v2(
                        blas,
                        plan.transFirst() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                        plan.transSecond() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                        plan.n(),
                        plan.m(),
                        plan.k(),
                        ONE,
                        new FloatPointer(Cuda.pointer(bs.at(plan.bOffsets()[bi]))),
                        plan.ldFirst(),
                        new FloatPointer(Cuda.pointer(as.at(plan.aOffsets()[bi]))),
                        plan.ldSecond(),
                        ZERO,
                        new FloatPointer(Cuda.pointer(os.at(plan.outOffsets()[bi]))),
                        plan.ldOut());
                Cuda.checkBlas(status, "cublasSgemm " + m + "x" + k + "x" + n);
            }
        });
    }

    /** Raw {@code C = A x B} on dense row-major device buffers with no checks and no wait (the benchmarks' baseline). */
    void rawSgemm(Storage a, Storage b, Storage c, int m, int n, int k) {
        blasHandles.run(blas -> {
            Cuda.checkBlas(
                    cublas.cublasSgemm_v2(
                            blas,
                            cublas.CUBLAS_OP_N,
                            cublas.CUBLAS_OP_N,
                            n,
                            m,
                            k,
                            ONE,
                            new FloatPointer(Cuda.pointer(cuda(b).address)),
                            n,
                            new FloatPointer(Cuda.pointer(cuda(a).address)),
                            k,
                            ZERO,
                            new FloatPointer(Cuda.pointer(cuda(c).address)),
                            n),
                    "cublasSgemm");
        });
    }
}
