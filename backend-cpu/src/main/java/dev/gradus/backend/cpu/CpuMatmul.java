package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.CpuStorage.plain;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import dev.gradus.DType;
import dev.gradus.backend.cpu.CpuStorage.Plain;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.Storage;
import dev.gradus.spi.UnaryOp;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Matrix products {@code [.., m, k] x [.., k, n]}, batched over the leading axes, on OpenBLAS's {@code cblas_sgemm}
 * or oneDNN's matmul primitive.
 *
 * <p>The routing policy ({@link #matmulOnDnnl}) depends only on the product's shape and layout and on how the
 * backend was configured, never on what ran before: the same product goes the same way in every model and call
 * order. First row that applies:
 *
 * <table>
 *   <caption>Where a product {@code [m, k] x [k, n]} runs</caption>
 *   <tr><th>rule</th><th>when</th><th>where</th></tr>
 *   <tr><td>1</td><td>oneDNN not loaded</td><td>OpenBLAS</td></tr>
 *   <tr><td>2</td><td>a product in a batch of products, or an operand or the output starting inside its storage
 *       (offset not 0): the oneDNN path takes whole storages</td><td>OpenBLAS</td></tr>
 *   <tr><td>3</td><td>{@code -Dgradus.dnnl.matmul=always} or {@code never}</td><td>oneDNN, or OpenBLAS</td></tr>
 *   <tr><td>4</td><td>a backend made by {@code CpuBackend.withMatmulsOnDnnl()} (the conformance suite on that
 *       path)</td><td>oneDNN</td></tr>
 *   <tr><td>5</td><td>{@code m >=} {@value #DNNL_MATMUL_MIN_ROWS} and {@code a} not a transposed view (a Dense
 *       layer's forward over an inference batch)</td><td>oneDNN</td></tr>
 *   <tr><td>6</td><td>{@code m * n * k >=} {@value #DNNL_MATMUL_MIN_MACS} (2^23) multiply-adds</td><td>oneDNN</td></tr>
 *   <tr><td>7</td><td>otherwise</td><td>OpenBLAS</td></tr>
 * </table>
 *
 * <p>Rule 6 applied only from the backend's first oneDNN convolution on until the oneDNN plans were cached within a
 * bound ({@link DnnlPlanCache}): in the examples the first convolution runs before the first large product, so they
 * route as before ({@link DnnlMatmul} gives the measurements). An operand BLAS cannot take as a plain or transposed
 * strided matrix is first copied contiguous.
 */
final class CpuMatmul {
    private final CpuAllocator allocator;
    private final CpuElementwise elementwise;
    /** Null without oneDNN. */
    private final DnnlMatmul dnnlMatmul;

    CpuMatmul(CpuAllocator allocator, CpuElementwise elementwise, DnnlMatmul dnnlMatmul, boolean matmulsAlwaysOnDnnl) {
        this.allocator = allocator;
        this.elementwise = elementwise;
        this.dnnlMatmul = dnnlMatmul;
        this.matmulsAlwaysOnDnnl = matmulsAlwaysOnDnnl;
    }

    /** How one matrix operand is handed to BLAS: transposed or not, and its leading dimension. */
    private record GemmArg(boolean trans, int ld) {}

    /** BLAS view of a {@code rows x cols} matrix with strides {@code rs, cs}, or null if it needs a copy. */
    private static GemmArg gemmArg(int rows, int cols, int rs, int cs) {
        if ((cols == 1 || cs == 1) && (rows == 1 || rs >= Math.max(1, cols))) {
            return new GemmArg(false, rows == 1 ? Math.max(1, cols) : rs);
        }
        if ((rows == 1 || rs == 1) && (cols == 1 || cs >= Math.max(1, rows))) {
            return new GemmArg(true, cols == 1 ? Math.max(1, rows) : cs);
        }
        return null;
    }

    void matmul(Operand ao, Operand bo, Operand outo) {
        Layout aLayout = ao.layout();
        Layout bLayout = bo.layout();
        Layout outLayout = outo.layout();
        Plain as = plain(ao.storage());
        Plain bs = plain(bo.storage());
        Plain os = plain(outo.storage());
        int r = aLayout.rank();
        int m = aLayout.shape()[r - 2];
        int k = aLayout.shape()[r - 1];
        int n = bLayout.shape()[r - 1];
        int batch = 1;
        for (int d = 0; d < r - 2; d++) {
            batch *= aLayout.shape()[d];
        }
        GemmArg oa = gemmArg(m, k, aLayout.strides()[r - 2], aLayout.strides()[r - 1]);
        GemmArg ob = gemmArg(k, n, bLayout.strides()[r - 2], bLayout.strides()[r - 1]);
        Plain tmpA = null;
        Plain tmpB = null;
        Layout al = aLayout;
        Layout bl = bLayout;
        try {
            if (oa == null) {
                tmpA = plain(allocator.allocate(DType.FLOAT32, batch * m * k));
                al = copyContiguous(as, aLayout, tmpA);
                as = tmpA;
                oa = new GemmArg(false, Math.max(1, k));
            }
            if (ob == null) {
                tmpB = plain(allocator.allocate(DType.FLOAT32, batch * k * n));
                bl = copyContiguous(bs, bLayout, tmpB);
                bs = tmpB;
                ob = new GemmArg(false, Math.max(1, n));
            }
            int outBase = outLayout.offset();
            FloatPointer pa = new FloatPointer(as.floats);
            FloatPointer pb = new FloatPointer(bs.floats);
            FloatPointer pc = new FloatPointer(os.floats);
            int[] idx = new int[Math.max(0, r - 2)];
            for (int bi = 0; bi < batch; bi++) {
                int offA = al.offset();
                int offB = bl.offset();
                for (int d = 0; d < r - 2; d++) {
                    offA += idx[d] * al.strides()[d];
                    offB += idx[d] * bl.strides()[d];
                }
                int offC = outBase + bi * m * n;
                if (k == 0) {
                    for (int i = 0; i < m * n; i++) {
                        os.f.put(offC + i, 0f);
                    }
                } else if (m > 0
                        && n > 0
                        && batch == 1
                        && offA == 0
                        && offB == 0
                        && offC == 0
                        && matmulOnDnnl(m, n, k, oa.trans)) {
                    dnnlMatmul.run(as.storage, oa.trans, oa.ld, bs.storage, ob.trans, ob.ld, os.storage, m, n, k);
                } else if (m > 0 && n > 0) {
                    cblas_sgemm(
                            CblasRowMajor,
                            oa.trans ? CblasTrans : CblasNoTrans,
                            ob.trans ? CblasTrans : CblasNoTrans,
                            m,
                            n,
                            k,
                            1f,
                            pa.position(offA),
                            oa.ld,
                            pb.position(offB),
                            ob.ld,
                            0f,
                            pc.position(offC),
                            Math.max(1, n));
                }
                for (int d = r - 3; d >= 0; d--) {
                    if (++idx[d] < al.shape()[d]) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        } finally {
            if (tmpA != null) {
                allocator.free(tmpA.storage);
            }
            if (tmpB != null) {
                allocator.free(tmpB.storage);
            }
        }
    }

    /**
     * Whether an {@code [m, k] x [k, n]} product goes to oneDNN (rules 3 to 7 of the class's table;
     * {@link DnnlMatmul} says why): a batch of at least {@link #DNNL_MATMUL_MIN_ROWS} rows of activations times a
     * matrix (a Dense layer's forward over an inference batch; {@code a} not a transposed view, which is how a
     * weight's gradient takes its operands), or any product of at least {@link #DNNL_MATMUL_MIN_MACS} multiply-adds;
     * with {@code -Dgradus.dnnl.matmul=always|never} every product or none (the default is {@code auto}).
     */
    private boolean matmulOnDnnl(int m, int n, int k, boolean aTransposed) {
        if (dnnlMatmul == null) {
            return false;
        }
        if (MATMUL_ON_DNNL != null) {
            return MATMUL_ON_DNNL;
        }
        return matmulsAlwaysOnDnnl
                || (m >= DNNL_MATMUL_MIN_ROWS && !aTransposed)
                || (long) m * n * k >= DNNL_MATMUL_MIN_MACS;
    }

    /**
     * From this many rows a forward product goes to oneDNN in any model: the MLPs' test-set passes in batches of
     * 1000 ran faster with their products on oneDNN in every one of five alternated pairs ({@code mlp} 1.0-1.3M
     * against 0.57-1.0M images/s), while their training batches (128 and 32 rows) are faster on OpenBLAS.
     */
    static final int DNNL_MATMUL_MIN_ROWS = 512;

    /**
     * From this many multiply-adds a product goes to oneDNN; below it stays on OpenBLAS: oneDNN's call costs more
     * than the switch between runtimes in a CNN ({@code bn-cnn}'s {@code [128, 256] x [256, 10]} took 0.14 ms on
     * oneDNN against 0.05 ms, its {@code [128, 1568] x [1568, 256]} 1.4 against 2.8 ms in a training step).
     */
    static final long DNNL_MATMUL_MIN_MACS = 1L << 23;

    /** Set by {@code CpuBackend.withMatmulsOnDnnl()}: every product on oneDNN, for the conformance suite. */
    private final boolean matmulsAlwaysOnDnnl;

    private static final Boolean MATMUL_ON_DNNL = switch (System.getProperty("gradus.dnnl.matmul", "auto")) {
        case "always" -> Boolean.TRUE;
        case "never" -> Boolean.FALSE;
        default -> null;
    };

    private Layout copyContiguous(Plain src, Layout l, Plain dst) {
        Layout c = Layout.contiguous(l.shape());
        elementwise.unary(UnaryOp.IDENTITY, 0f, new Operand(src.storage, l), new Operand(dst.storage, c));
        return c;
    }

    /** Raw {@code C = A x B} on row-major buffers with no checks: the baseline benchmarks compare against. */
    void rawSgemm(Storage a, Storage b, Storage c, int m, int n, int k) {
        cblas_sgemm(
                CblasRowMajor,
                CblasNoTrans,
                CblasNoTrans,
                m,
                n,
                k,
                1f,
                plain(a).floats,
                k,
                plain(b).floats,
                n,
                0f,
                plain(c).floats,
                n);
    }

    /**
     * The same product as {@link #rawSgemm} through oneDNN's matmul primitive, for {@code MatmulBenchmark}'s
     * comparison; false when oneDNN is not loaded.
     */
    boolean rawDnnlMatmul(Storage a, Storage b, Storage c, int m, int n, int k) {
        if (dnnlMatmul == null) {
            return false;
        }
        dnnlMatmul.run(plain(a).storage, plain(b).storage, plain(c).storage, m, n, k);
        return true;
    }
}
