package dev.gradus.conformance;

import dev.gradus.DType;
import dev.gradus.spi.Backend;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.Storage;
import dev.gradus.testing.ReferenceBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Operands made twice with the same contents, once on the backend under test and once on the reference backend,
 * for {@link ReferenceDifferential}: random data, random strided, offset and broadcast layouts, and a comparison of
 * whole storages after an op ran on both.
 *
 * <p>Every storage it allocates is freed by {@link #close}, so the suite's memory check stays quiet.
 *
 * <pre>{@code
 * try (Twins tw = new Twins(backend, 7)) {
 *     Twins.Pair x = tw.floats(tw.layout(new int[] {3, 4}, true));
 *     ...
 * }
 * }</pre>
 */
final class Twins implements AutoCloseable {
    /** One operand on each backend: same layout, same storage contents. */
    record Pair(Operand under, Operand ref) {
        Layout layout() {
            return under.layout();
        }
    }

    final Random rnd;
    private final Backend under;
    private final ReferenceBackend ref = new ReferenceBackend();
    private final List<Storage> allocated = new ArrayList<>();

    Twins(Backend under, long seed) {
        this.under = under;
        this.rnd = new Random(seed);
    }

    Backend under() {
        return under;
    }

    ReferenceBackend ref() {
        return ref;
    }

    /**
     * Runs one op on both backends: {@code op.accept(backend, side)}, where {@code side} picks that backend's
     * operand of a pair.
     */
    void both(BiConsumer<Backend, Function<Pair, Operand>> op) {
        op.accept(under, Pair::under);
        op.accept(ref, Pair::ref);
    }

    /**
     * Batch norm's arguments on one side from the pairs gamma, beta, runningMean, runningVar, saveMean, saveInvStd
     * (nulls allowed), eps 1e-5 and momentum 0.1.
     */
    static BatchNormArgs bnArgs(Pair[] ps, Function<Pair, Operand> side) {
        Operand[] o = new Operand[ps.length];
        for (int i = 0; i < ps.length; i++) {
            o[i] = ps[i] == null ? null : side.apply(ps[i]);
        }
        return new BatchNormArgs(o[0], o[1], o[2], o[3], o[4], o[5], 1e-5f, 0.1f);
    }

    /** A shape of {@code rank} dimensions of 1 to {@code max}. */
    int[] shape(int rank, int max) {
        int[] s = new int[rank];
        for (int d = 0; d < rank; d++) {
            s[d] = 1 + rnd.nextInt(max);
        }
        return s;
    }

    /**
     * A layout of {@code shape} over a larger storage: axes in a random order in memory (a permuted view), gaps
     * between rows and elements, a random offset and, when {@code broadcast}, stride 0 on some axes.
     */
    Layout layout(int[] shape, boolean broadcast) {
        int r = shape.length;
        List<Integer> order = new ArrayList<>();
        for (int d = 0; d < r; d++) {
            order.add(d);
        }
        Collections.shuffle(order, rnd);
        int[] strides = new int[r];
        int acc = 1 + (rnd.nextInt(4) == 0 ? 1 : 0);
        for (int k = r - 1; k >= 0; k--) {
            int d = order.get(k);
            strides[d] = acc;
            acc *= shape[d] + rnd.nextInt(2);
        }
        for (int d = 0; broadcast && d < r; d++) {
            if (rnd.nextInt(4) == 0) {
                strides[d] = 0;
            }
        }
        return new Layout(shape.clone(), strides, rnd.nextInt(3));
    }

    /** The fewest elements a storage needs to hold every element of {@code l}. */
    static int span(Layout l) {
        int last = l.offset();
        for (int d = 0; d < l.rank(); d++) {
            if (l.shape()[d] == 0) {
                return l.offset() + 1;
            }
            last += (l.shape()[d] - 1) * l.strides()[d];
        }
        return last + 1;
    }

    /** Random values in [-1, 1) (small integers when {@code ties}, so comparisons and maxima meet equal values). */
    float[] values(int n, boolean ties) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = ties ? rnd.nextInt(5) - 2 : rnd.nextFloat() * 2 - 1;
        }
        return v;
    }

    /** A FLOAT32 pair of layout {@code l} holding {@code v} (the whole storage, elements outside l included). */
    Pair floats(Layout l, float[] v) {
        Storage a = alloc(under, DType.FLOAT32, v.length);
        Storage b = ref.allocate(DType.FLOAT32, v.length);
        under.write(a, 0, v, 0, v.length);
        ref.write(b, 0, v, 0, v.length);
        return new Pair(new Operand(a, l), new Operand(b, l));
    }

    /** A FLOAT32 pair of layout {@code l} over random values. */
    Pair floats(Layout l) {
        return floats(l, values(span(l), false));
    }

    /** A dense FLOAT32 pair of {@code shape} over random values in {@code [lo, hi)}. */
    Pair dense(float lo, float hi, int... shape) {
        float[] v = values(Layout.contiguous(shape).numel(), false);
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * (v[i] + 1) / 2;
        }
        return floats(Layout.contiguous(shape), v);
    }

    /** An INT32 pair of layout {@code l} over random values in {@code [0, bound)}. */
    Pair ints(Layout l, int bound) {
        int[] v = new int[span(l)];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextInt(bound);
        }
        Storage a = alloc(under, DType.INT32, v.length);
        Storage b = ref.allocate(DType.INT32, v.length);
        under.writeInts(a, 0, v, 0, v.length);
        ref.writeInts(b, 0, v, 0, v.length);
        return new Pair(new Operand(a, l), new Operand(b, l));
    }

    private Storage alloc(Backend be, DType dtype, int n) {
        Storage s = be.allocate(dtype, n);
        allocated.add(s);
        return s;
    }

    /** Fails unless the two storages of {@code p} hold the same values to {@code tol} (relative above 1). */
    void assertSame(Pair p, double tol, String what) {
        Storage a = p.under().storage();
        Storage b = p.ref().storage();
        int n = a.numel();
        if (a.dtype() == DType.INT32) {
            int[] got = new int[n];
            int[] want = new int[n];
            under.readInts(a, 0, got, 0, n);
            ref.readInts(b, 0, want, 0, n);
            if (!Arrays.equals(want, got)) {
                throw new AssertionError(what + ": INT32 results differ from the reference\nexpected "
                        + Arrays.toString(want) + "\nactual   " + Arrays.toString(got));
            }
            return;
        }
        float[] got = new float[n];
        float[] want = new float[n];
        under.read(a, 0, got, 0, n);
        ref.read(b, 0, want, 0, n);
        for (int i = 0; i < n; i++) {
            double e = want[i];
            double err = Math.abs(e - got[i]) / Math.max(1.0, Math.abs(e));
            // equal infinities and NaN against NaN match; an infinity's error is NaN and would fail `err <= tol`
            boolean same = e == got[i] || (Double.isNaN(e) && Float.isNaN(got[i]));
            if (!same && !(err <= tol)) {
                throw new AssertionError(what + " (layout " + p.layout() + "): element " + i + " of the storage,"
                        + " expected " + e + " got " + got[i] + " (rel err " + err + ")\nexpected "
                        + Arrays.toString(want) + "\nactual   " + Arrays.toString(got));
            }
        }
    }

    /**
     * Copies the storage of the backend under test into the reference's, once compared: the next op then gets the
     * same inputs on both sides, the backend under test still its own storage (in whatever internal layout its
     * kernels left it), and errors do not pile up along a chain of ops.
     */
    void sync(Pair p) {
        Storage a = p.under().storage();
        int n = a.numel();
        if (a.dtype() == DType.INT32) {
            int[] v = new int[n];
            under.readInts(a, 0, v, 0, n);
            ref.writeInts(p.ref().storage(), 0, v, 0, n);
        } else {
            float[] v = new float[n];
            under.read(a, 0, v, 0, n);
            ref.write(p.ref().storage(), 0, v, 0, n);
        }
    }

    /** {@link #assertSame} then {@link #sync}. */
    void check(Pair p, double tol, String what) {
        assertSame(p, tol, what);
        sync(p);
    }

    @Override
    public void close() {
        for (Storage s : allocated) {
            under.free(s);
        }
        allocated.clear();
    }
}
