package dev.gradus.testing;

import dev.gradus.DType;
import dev.gradus.Device;
import dev.gradus.spi.AbstractStorage;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.IndexOp;
import dev.gradus.spi.MemoryStats;
import dev.gradus.spi.OpKernels;
import dev.gradus.spi.Operand;
import dev.gradus.spi.PoolOp;
import dev.gradus.spi.PoolParams;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.Storage;
import dev.gradus.spi.UnaryOp;
import dev.gradus.spi.UpdateKernels;
import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A plain Java {@link Backend} for tests: obviously correct and slow, the yardstick every backend is compared with.
 *
 * <p>A storage is a Java {@code float[]} or {@code int[]}; every op is the most direct loop over logical indices
 * through each operand's {@link dev.gradus.spi.Layout}, summing in double, with PyTorch's semantics. This class
 * holds memory and transfers and hands each op family to one small class: {@link ReferenceElementwise},
 * {@link ReferenceReduce}, {@link ReferenceConv}, {@link ReferenceNorm}; ops' and optimizers' own kernels run on
 * views of its arrays. Test scope only: nothing here is on a user's class path.
 *
 * <pre>{@code
 * Backend ref = new ReferenceBackend();
 * Tensor y = Tensor.of(ref, new float[] {1, -2}, 2).relu();
 * }</pre>
 */
public final class ReferenceBackend implements Backend {

    /**
     * Fresh and reused storages start as NaN (floats) or {@link #POISON_INT} (ints), never zeros: the SPI promises
     * undefined content, and a caller that reads before writing must show up in the results.
     */
    static final int POISON_INT = Integer.MIN_VALUE;

    /** One storage: exactly one of the arrays is set, as its dtype says. */
    static final class RefStorage extends AbstractStorage {
        final float[] f;
        final int[] i;
        volatile boolean live = true; // freed from the GC's reclaimer thread too

        RefStorage(DType dtype, int numel, float[] f, int[] i) {
            super(dtype, numel);
            this.f = f;
            this.i = i;
        }

        @Override
        public String toString() {
            return "RefStorage[" + dtype() + " x " + numel() + (live ? "]" : ", freed]");
        }
    }

    // Freed arrays by (dtype, numel), reused by the next allocation of that size: a training loop in steady state
    // then makes no new allocations, which the conformance suite checks of every backend.
    private final Map<String, ArrayDeque<Object>> cache = new HashMap<>();
    private long liveBytes;
    private long reservedBytes;
    private long allocations;

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public Device device() {
        return new Device("reference", 0);
    }

    /**
     * 2^30 elements (a 4 GiB array): no test needs more of a slow reference, and a limit below 2^31 lets the
     * conformance suite check that core refuses a larger tensor by naming it.
     */
    @Override
    public int maxElements(DType dtype) {
        return 1 << 30;
    }

    @Override
    public synchronized Storage allocate(DType dtype, int numel) {
        if (numel < 0 || numel > maxElements(dtype)) {
            throw new IllegalArgumentException("reference backend: cannot allocate " + numel + " " + dtype
                    + " elements; one storage holds at most " + maxElements(dtype));
        }
        ArrayDeque<Object> q = cache.get(dtype + ":" + numel);
        Object array = q == null ? null : q.poll();
        if (array == null) {
            array = dtype == DType.INT32 ? new int[numel] : new float[numel];
            allocations++;
        } else {
            reservedBytes -= (long) numel * dtype.bytes();
        }
        RefStorage s = dtype == DType.INT32
                ? new RefStorage(dtype, numel, null, (int[]) array)
                : new RefStorage(dtype, numel, (float[]) array, null);
        if (s.f != null) {
            Arrays.fill(s.f, Float.NaN);
        } else {
            Arrays.fill(s.i, POISON_INT);
        }
        liveBytes += s.bytes();
        return s;
    }

    /** Frees {@code storage}; its handle fails from now on, its array waits in the cache for the next of its size. */
    @Override
    public synchronized void free(Storage storage) {
        RefStorage s = ref(storage);
        s.live = false;
        liveBytes -= s.bytes();
        reservedBytes += s.bytes();
        cache.computeIfAbsent(s.dtype() + ":" + s.numel(), k -> new ArrayDeque<>())
                .push(s.f != null ? s.f : s.i);
    }

    @Override
    public synchronized void trim() {
        cache.clear();
        reservedBytes = 0;
    }

    @Override
    public synchronized MemoryStats memory() {
        return new MemoryStats(liveBytes, reservedBytes, allocations);
    }

    /** The live reference storage behind {@code s}. */
    static RefStorage ref(Storage s) {
        if (!(s instanceof RefStorage r)) {
            throw new IllegalArgumentException("reference backend: storage " + s + " belongs to another backend");
        }
        if (!r.live) {
            throw new IllegalStateException("reference backend: " + r + " used after it was freed");
        }
        return r;
    }

    /** The floats of a FLOAT32 storage. */
    static float[] floats(Storage s) {
        RefStorage r = ref(s);
        if (r.f == null) {
            throw new IllegalArgumentException("reference backend: expected a FLOAT32 storage, got " + r);
        }
        return r.f;
    }

    /** The ints of an INT32 storage. */
    static int[] ints(Storage s) {
        RefStorage r = ref(s);
        if (r.i == null) {
            throw new IllegalArgumentException("reference backend: expected an INT32 storage, got " + r);
        }
        return r.i;
    }

    /** The element of {@code o} at logical coordinates {@code c}, of either dtype, as a double. */
    static double load(Operand o, int[] c) {
        RefStorage r = ref(o.storage());
        int at = o.layout().offsetOf(c);
        return r.f != null ? r.f[at] : r.i[at];
    }

    /** Stores {@code v} at logical coordinates {@code c} of {@code o}: rounded to float, or cast to int. */
    static void store(Operand o, int[] c, double v) {
        RefStorage r = ref(o.storage());
        int at = o.layout().offsetOf(c);
        if (r.f != null) {
            r.f[at] = (float) v;
        } else {
            r.i[at] = (int) v;
        }
    }

    @Override
    public void write(Storage dst, int offset, float[] src, int srcOffset, int length) {
        System.arraycopy(src, srcOffset, floats(dst), offset, length);
    }

    @Override
    public void read(Storage src, int offset, float[] dst, int dstOffset, int length) {
        System.arraycopy(floats(src), offset, dst, dstOffset, length);
    }

    @Override
    public void writeInts(Storage dst, int offset, int[] src, int srcOffset, int length) {
        System.arraycopy(src, srcOffset, ints(dst), offset, length);
    }

    @Override
    public void readInts(Storage src, int offset, int[] dst, int dstOffset, int length) {
        System.arraycopy(ints(src), offset, dst, dstOffset, length);
    }

    // ------------------------------------------------------------------ registered kernels

    /** Runs the op's Java kernel on views of the storages' own arrays (no copies). */
    @Override
    public void runKernel(OpKernels kernels, Operand[] inputs, Operand out) {
        kernels.check(inputs, out);
        FloatBuffer[] views = new FloatBuffer[inputs.length];
        int[][] shapes = new int[inputs.length][];
        for (int j = 0; j < inputs.length; j++) {
            views[j] = FloatBuffer.wrap(
                            floats(inputs[j].storage()), inputs[j].layout().offset(), inputs[j].numel())
                    .slice();
            shapes[j] = inputs[j].shape().clone();
        }
        FloatBuffer o = FloatBuffer.wrap(floats(out.storage()), 0, out.numel()).slice();
        kernels.runJava(views, shapes, o, out.shape().clone());
    }

    // ------------------------------------------------------------------ ops, one family per class

    @Override
    public void fill(Operand dst, float value) {
        ReferenceElementwise.fill(dst, value);
    }

    @Override
    public void unary(UnaryOp op, float scalar, Operand x, Operand out) {
        ReferenceElementwise.unary(op, scalar, x, out);
    }

    @Override
    public void binary(BinaryOp op, Operand a, Operand b, Operand out) {
        ReferenceElementwise.binary(op, a, b, out);
    }

    @Override
    public void reduce(ReduceOp op, Operand x, int axis, Operand out) {
        ReferenceReduce.reduce(op, x, axis, out);
    }

    @Override
    public void matmul(Operand a, Operand b, Operand out) {
        ReferenceReduce.matmul(a, b, out);
    }

    @Override
    public void logSoftmax(Operand x, Operand out) {
        ReferenceReduce.logSoftmax(x, out);
    }

    @Override
    public void oneHot(Operand labels, Operand out) {
        ReferenceReduce.oneHot(labels, out);
    }

    @Override
    public void index(IndexOp op, int axis, Operand x, Operand index, Operand out) {
        ReferenceReduce.index(op, axis, x, index, out);
    }

    /**
     * Runs the update's Java kernel on views of its arrays, over three ranges one after the other (fewer when there
     * are fewer elements), so that every backend's suite checks that a kernel keeps to the range it is given.
     */
    @Override
    public void runUpdate(UpdateKernels kernels, Operand[] updated, Operand[] inputs, float[] scalars) {
        int n = kernels.check(updated, inputs, scalars);
        FloatBuffer[] u = new FloatBuffer[updated.length];
        for (int j = 0; j < u.length; j++) {
            u[j] = FloatBuffer.wrap(
                            floats(updated[j].storage()), updated[j].layout().offset(), n)
                    .slice();
        }
        FloatBuffer[] in = new FloatBuffer[inputs.length];
        for (int j = 0; j < in.length; j++) {
            in[j] = FloatBuffer.wrap(
                            floats(inputs[j].storage()), inputs[j].layout().offset(), n)
                    .slice();
        }
        int first = n / 3;
        int second = n - n / 3;
        kernels.runJava(u, in, scalars, 0, first);
        kernels.runJava(u, in, scalars, first, second);
        kernels.runJava(u, in, scalars, second, n);
    }

    @Override
    public void conv2d(Operand x, Operand w, Operand bias, Operand out, ConvParams p) {
        ReferenceConv.conv2d(x, w, bias, out, p);
    }

    @Override
    public void conv2dBackwardData(Operand dOut, Operand w, Operand dx, ConvParams p) {
        ReferenceConv.conv2dBackwardData(dOut, w, dx, p);
    }

    @Override
    public void conv2dBackwardFilter(Operand x, Operand dOut, Operand dw, Operand dBias, ConvParams p) {
        ReferenceConv.conv2dBackwardFilter(x, dOut, dw, dBias, p);
    }

    @Override
    public void pool2d(PoolOp op, Operand x, Operand out, Operand argmax, PoolParams p) {
        ReferenceConv.pool2d(op, x, out, argmax, p);
    }

    @Override
    public void pool2dBackward(PoolOp op, Operand dOut, Operand argmax, Operand dx, PoolParams p) {
        ReferenceConv.pool2dBackward(op, dOut, argmax, dx, p);
    }

    @Override
    public void batchNormTrain(Operand x, Operand out, BatchNormArgs p) {
        ReferenceNorm.batchNormTrain(x, out, p);
    }

    @Override
    public void batchNormBackward(Operand x, Operand dOut, BatchNormArgs p, Operand dx, Operand dGamma, Operand dBeta) {
        ReferenceNorm.batchNormBackward(x, dOut, p, dx, dGamma, dBeta);
    }

    @Override
    public void channelAffine(Operand x, Operand scale, Operand shift, Operand out) {
        ReferenceNorm.channelAffine(x, scale, shift, out);
    }

    @Override
    public Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("kernels", "plain Java loops over logical indices, sums in double (test reference)");
        return m;
    }
}
