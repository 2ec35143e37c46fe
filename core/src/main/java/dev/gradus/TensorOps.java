package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.IndexOp;
import dev.gradus.spi.Operand;
import dev.gradus.spi.ReduceOp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * The bodies of the comparison, selection, shape, reduction and indexing ops {@link Tensor} exposes, kept here so that
 * {@code Tensor} stays the public face. Each op composes existing kernels or calls one {@link Backend} primitive
 * and states its gradient beside its forward.
 */
final class TensorOps {
    private TensorOps() {}

    // ------------------------------------------------------------------ creation

    static Tensor of(Backend backend, float[] data, int... shape) {
        Tensor t = emptyFor("of", backend, DType.FLOAT32, data.length, shape);
        backend.write(t.ref.storage, 0, data, 0, data.length);
        return t;
    }

    static Tensor ofInts(Backend backend, int[] data, int... shape) {
        Tensor t = emptyFor("ofInts", backend, DType.INT32, data.length, shape);
        backend.writeInts(t.ref.storage, 0, data, 0, data.length);
        return t;
    }

    private static Tensor emptyFor(String op, Backend backend, DType dtype, int values, int... shape) {
        Shape s = Shape.of(shape);
        if (s.numel() != values) {
            throw new IllegalArgumentException(op + ": " + values + " values do not fill shape " + s);
        }
        return Tensor.empty(backend, s, dtype);
    }

    static Tensor sample(Backend backend, DoubleSupplier draw, int... shape) {
        Shape s = Shape.of(shape);
        Tensor.requireFits(backend, s, DType.FLOAT32);
        float[] d = new float[s.numel()];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) draw.getAsDouble();
        }
        return Tensor.of(backend, d, shape);
    }

    static Tensor arange(Backend backend, float start, float end, float step) {
        if (step == 0 || !Float.isFinite(step) || !Float.isFinite(start) || !Float.isFinite(end)) {
            throw new IllegalArgumentException(
                    "arange: start " + start + ", end " + end + " and step " + step + " must be finite, step not 0");
        }
        double count = Math.ceil(((double) end - start) / step);
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("arange: " + count + " elements are too many");
        }
        float[] v = new float[(int) Math.max(0, count)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (start + (double) i * step);
        }
        return Tensor.of(backend, v, v.length);
    }

    static Tensor of(Backend backend, float[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        float[] v = new float[rows.length * cols];
        for (int r = 0; r < rows.length; r++) {
            if (rows[r].length != cols) {
                throw new IllegalArgumentException(
                        "of: row " + r + " has " + rows[r].length + " values, row 0 has " + cols);
            }
            System.arraycopy(rows[r], 0, v, r * cols, cols);
        }
        return Tensor.of(backend, v, rows.length, cols);
    }

    static Tensor eye(Backend backend, int n) {
        if (n < 0) {
            throw new IllegalArgumentException("eye: size " + n + " is negative");
        }
        float[] v = new float[n * n];
        for (int i = 0; i < n; i++) {
            v[i * n + i] = 1f;
        }
        return Tensor.of(backend, v, n, n);
    }

    // ------------------------------------------------------------------ copies and read-back

    static float[] toFloatArray(Tensor x) {
        x.check("toFloatArray");
        try (Scope scope = Scope.open()) {
            if (x.dtype != DType.FLOAT32) {
                return x.toFloat().toFloatArray();
            }
            Tensor c = x.contiguous();
            float[] out = new float[x.numel()];
            x.backend.read(c.ref.storage, c.layout.offset(), out, 0, out.length);
            return out;
        }
    }

    static int[] toIntArray(Tensor x) {
        x.check("toIntArray");
        if (x.dtype != DType.INT32) {
            throw new IllegalStateException("toIntArray: tensor is " + x.dtype + "; use toFloatArray");
        }
        try (Scope scope = Scope.open()) {
            Tensor c = x.contiguous();
            int[] out = new int[x.numel()];
            x.backend.readInts(c.ref.storage, c.layout.offset(), out, 0, out.length);
            return out;
        }
    }

    static void copyFrom(Tensor dst, Tensor src) {
        dst.check("copyFrom");
        src.check("copyFrom");
        Backends.requireSame("copyFrom", dst.backend, src.backend);
        if (!src.shape.equals(dst.shape)) {
            throw new IllegalArgumentException("copyFrom: source " + src.shape + " into " + dst.shape);
        }
        src.copyInto(dst);
    }

    static Tensor to(Tensor x, Backend target) {
        x.check("to");
        if (target == x.backend) {
            return x;
        }
        return x.dtype == DType.INT32
                ? Tensor.ofInts(target, x.toIntArray(), x.shape.dims())
                : Tensor.of(target, x.toFloatArray(), x.shape.dims());
    }

    // ------------------------------------------------------------------ comparisons and selection

    static Tensor scalarLike(Tensor x, float value) {
        return Tensor.full(x.requireOpen("scalar").backend(), value);
    }

    /** {@code x} where {@code mask} is set, else 0, broadcast to both shapes; not recorded. */
    private static Tensor masked(Tensor x, Tensor mask) {
        return x.applyKernel(BinaryOp.MASK, mask);
    }

    static Tensor where(Tensor cond, Tensor a, Tensor b) {
        Tensor c = cond.requireOpen("where").toFloat();
        Tensor notC = c.applyKernel(BinaryOp.EQ, scalarLike(c, 0f));
        // Each half has the shape of its input broadcast with the condition; their sum has the shape of all three.
        Tensor out = masked(a, c).applyKernel(BinaryOp.ADD, masked(b, notC));
        return Autograd.record(
                out,
                "where",
                a,
                d -> masked(d, c).sumTo(a.shape()),
                b,
                d -> masked(d, notC).sumTo(b.shape()));
    }

    static Tensor clamp(Tensor x, float lo, float hi) {
        if (Float.isNaN(lo) || Float.isNaN(hi) || lo > hi) {
            throw new IllegalArgumentException("clamp: bounds [" + lo + ", " + hi + "] are not an interval");
        }
        Tensor out =
                x.applyKernel(BinaryOp.MAXIMUM, scalarLike(x, lo)).applyKernel(BinaryOp.MINIMUM, scalarLike(x, hi));
        // PyTorch: the gradient passes where lo <= x <= hi, bounds included.
        return Autograd.record(out, "clamp", x, d -> {
            Tensor inside = x.applyKernel(BinaryOp.GE, scalarLike(x, lo))
                    .applyKernel(BinaryOp.MUL, x.applyKernel(BinaryOp.LE, scalarLike(x, hi)));
            return masked(d, inside);
        });
    }

    // ------------------------------------------------------------------ shape

    static Tensor reshape(Tensor x, int... newShape) {
        Shape target = x.requireOpen("reshape").shape().reshape(newShape);
        Tensor base = x.contiguous();
        Tensor out = base.view(base.layout().reshape(target.dims()));
        return Autograd.record(out, "reshape", base, d -> d.reshape(x.shape().dims()));
    }

    static Tensor transpose(Tensor x, int axis0, int axis1) {
        Shape s = x.requireOpen("transpose").shape();
        int a = s.normalizeAxis(axis0, "transpose");
        int b = s.normalizeAxis(axis1, "transpose");
        Tensor out = x.view(x.layout().transpose(a, b));
        return Autograd.record(out, "transpose", x, d -> d.transpose(a, b));
    }

    static Tensor broadcastTo(Tensor x, Shape target) {
        Shape s = x.requireOpen("broadcastTo").shape();
        if (!Shape.broadcast("broadcastTo", s, target).equals(target)) {
            throw new IllegalArgumentException("broadcastTo: " + s + " cannot expand to " + target);
        }
        if (target.equals(s)) {
            return x;
        }
        Tensor out = x.view(x.layout().broadcastTo(target.dims()));
        return Autograd.record(out, "broadcastTo", x, d -> d.sumTo(s));
    }

    static Tensor unsqueeze(Tensor x, int axis) {
        Shape s = x.shape();
        int a = axis < 0 ? axis + s.rank() + 1 : axis;
        if (a < 0 || a > s.rank()) {
            throw new IllegalArgumentException("unsqueeze: axis " + axis + " out of range for " + s);
        }
        return x.reshape(s.unsqueeze(a).dims());
    }

    static Tensor squeeze(Tensor x, int axis) {
        Shape s = x.shape();
        int a = s.normalizeAxis(axis, "squeeze");
        if (s.dim(a) != 1) {
            throw new IllegalArgumentException("squeeze: axis " + axis + " of " + s + " is not 1");
        }
        return x.reshape(s.reduce(a, false).dims());
    }

    static Tensor narrow(Tensor x, int axis, int start, int length) {
        Shape s = x.requireOpen("narrow").shape();
        int a = s.normalizeAxis(axis, "narrow");
        if (start < 0 || length < 0 || start + length > s.dim(a)) {
            throw new IllegalArgumentException(
                    "narrow: [" + start + ", " + (start + length) + ") is outside axis " + a + " of " + s);
        }
        Tensor out = x.view(x.layout().narrow(a, start, length));
        return Autograd.recordView(
                out,
                "narrow",
                x,
                d -> {
                    Tensor g = x.zerosLike();
                    g.narrow(a, start, length).copyFrom(d); // gradients are off in backward: a plain view
                    return g;
                },
                (acc, d) -> {
                    Operand whole = acc.operand();
                    Operand part = new Operand(whole.storage(), whole.layout().narrow(a, start, length));
                    acc.backend().binary(BinaryOp.ADD, part, d.operand(), part);
                });
    }

    static Tensor permute(Tensor x, int... order) {
        Shape s = x.requireOpen("permute").shape();
        if (order.length != s.rank()) {
            throw new IllegalArgumentException(
                    "permute: " + Arrays.toString(order) + " names " + order.length + " axes of " + s);
        }
        int[] axes = new int[order.length];
        int[] inverse = new int[order.length];
        boolean[] seen = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            int a = s.normalizeAxis(order[i], "permute");
            if (seen[a]) {
                throw new IllegalArgumentException("permute: axis " + a + " repeats in " + Arrays.toString(order));
            }
            seen[a] = true;
            axes[i] = a;
            inverse[a] = i;
        }
        Tensor out = x.view(x.layout().permute(axes));
        return Autograd.record(out, "permute", x, d -> d.permute(inverse));
    }

    static Tensor expand(Tensor x, int... sizes) {
        Shape s = x.requireOpen("expand").shape();
        if (sizes.length < s.rank()) {
            throw new IllegalArgumentException("expand: " + Arrays.toString(sizes) + " has fewer axes than " + s);
        }
        int[] target = sizes.clone();
        for (int i = 0; i < s.rank(); i++) {
            int t = target.length - s.rank() + i;
            if (target[t] == -1) {
                target[t] = s.dim(i);
            }
            if (s.dim(i) != 1 && target[t] != s.dim(i)) {
                // checked here: broadcastTo's message would name broadcastTo, not the op the caller called
                throw new IllegalArgumentException("expand: " + s + " cannot expand to " + Arrays.toString(sizes)
                        + " (axis " + t + ": " + s.dim(i) + " vs " + target[t] + "; only axes of size 1 expand)");
            }
        }
        return x.broadcastTo(Shape.of(target));
    }

    static Tensor repeat(Tensor x, int... reps) {
        Shape s = x.requireOpen("repeat").shape();
        if (reps.length < s.rank()) {
            throw new IllegalArgumentException("repeat: " + Arrays.toString(reps) + " has fewer axes than " + s);
        }
        int lead = reps.length - s.rank();
        int[] split = new int[2 * reps.length];
        int[] tiled = new int[2 * reps.length];
        int[] result = new int[reps.length];
        for (int i = 0; i < reps.length; i++) {
            if (reps[i] < 0) {
                throw new IllegalArgumentException("repeat: count " + reps[i] + " is negative");
            }
            int d = i < lead ? 1 : s.dim(i - lead);
            split[2 * i] = 1;
            split[2 * i + 1] = d;
            tiled[2 * i] = reps[i];
            tiled[2 * i + 1] = d;
            result[i] = reps[i] * d;
        }
        // [d0, d1] -> [1, d0, 1, d1] -> broadcast [r0, d0, r1, d1] -> copy -> [r0*d0, r1*d1]; gradients flow back
        // through the reshapes and the broadcast's sum.
        return x.reshape(split).broadcastTo(Shape.of(tiled)).contiguous().reshape(result);
    }

    static Tensor stack(List<Tensor> parts, int axis) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("stack: no tensors");
        }
        Shape first = parts.get(0).requireOpen("stack").shape();
        int a = axis < 0 ? axis + first.rank() + 1 : axis;
        if (a < 0 || a > first.rank()) {
            throw new IllegalArgumentException("stack: axis " + axis + " out of range for " + first);
        }
        List<Tensor> lifted = new ArrayList<>(parts.size());
        for (Tensor p : parts) {
            if (!p.requireOpen("stack").shape().equals(first)) {
                throw new IllegalArgumentException("stack: " + first + " and " + p.shape() + " differ");
            }
            lifted.add(p.unsqueeze(a));
        }
        return Tensor.cat(lifted, a);
    }

    static List<Tensor> split(Tensor x, int size, int axis) {
        Shape s = x.requireOpen("split").shape();
        int a = s.normalizeAxis(axis, "split");
        if (size <= 0) {
            throw new IllegalArgumentException("split: size " + size + " must be positive");
        }
        List<Tensor> out = new ArrayList<>();
        for (int at = 0; at < s.dim(a); at += size) {
            out.add(x.narrow(a, at, Math.min(size, s.dim(a) - at)));
        }
        return out;
    }

    static List<Tensor> chunk(Tensor x, int chunks, int axis) {
        Shape s = x.requireOpen("chunk").shape();
        if (chunks <= 0) {
            throw new IllegalArgumentException("chunk: " + chunks + " chunks must be positive");
        }
        int n = s.dim(s.normalizeAxis(axis, "chunk"));
        return split(x, Math.max(1, (n + chunks - 1) / chunks), axis);
    }

    // ------------------------------------------------------------------ reductions

    static Tensor sum(Tensor x, int axis, boolean keepDim) {
        x.checkFloat("sum");
        Shape s = x.shape();
        int a = s.normalizeAxis(axis, "sum");
        Tensor out = reduce(x, ReduceOp.SUM, a, keepDim, DType.FLOAT32);
        int[] keep = s.reduce(a, true).dims();
        return Autograd.record(
                out, "sum", x, d -> d.reshape(keep).broadcastTo(s).contiguous());
    }

    static Tensor max(Tensor x, int axis, boolean keepDim) {
        x.checkFloat("max");
        int a = x.shape().normalizeAxis(axis, "max");
        Tensor out = reduce(x, ReduceOp.MAX, a, keepDim, DType.FLOAT32);
        int[] keep = x.shape().reduce(a, true).dims();
        // ties share the gradient
        return Autograd.record(
                out, "max", x, d -> d.reshape(keep).mul(x.applyKernel("max", BinaryOp.EQ, out.reshape(keep))));
    }

    static Tensor argmax(Tensor x, int axis) {
        x.checkFloat("argmax");
        return reduce(x, ReduceOp.ARGMAX, x.shape().normalizeAxis(axis, "argmax"), false, DType.INT32);
    }

    /**
     * As PyTorch: a sum over an empty axis is 0; a maximum (or its index) over one has no value and throws, naming
     * {@code name}. An empty output (another axis of size 0) is returned without a kernel call.
     */
    static void requireNonEmpty(Tensor x, int axis, String name) {
        Shape s = x.requireOpen(name).shape();
        int a = s.normalizeAxis(axis, name);
        if (s.dim(a) == 0) {
            throw new IllegalArgumentException(name + ": axis " + axis + " of " + s
                    + " is empty, and an empty axis has no " + (name.contains("min") ? "minimum" : "maximum"));
        }
    }

    private static Tensor reduce(Tensor x, ReduceOp op, int axis, boolean keepDim, DType outType) {
        Shape outShape = x.shape().reduce(axis, keepDim);
        if (x.shape().dim(axis) == 0) {
            switch (op) {
                case SUM -> {
                    return Tensor.full(x.backend(), 0f, outShape.dims());
                }
                case MAX, ARGMAX -> requireNonEmpty(x, axis, op.name().toLowerCase());
            }
        }
        Tensor out = Tensor.empty(x.backend(), outShape, outType);
        if (outShape.numel() == 0) {
            return out;
        }
        Tensor c = x.contiguous();
        x.backend().reduce(op, c.operand(), axis, out.operand());
        return out;
    }

    /** The adjoint of broadcasting: sums leading axes away, then the axes {@code target} has as 1. */
    static Tensor sumTo(Tensor x, Shape target) {
        if (x.shape().equals(target)) {
            return x;
        }
        Tensor t = x;
        while (t.shape().rank() > target.rank()) {
            t = t.sum(0, false);
        }
        for (int i = 0; i < target.rank(); i++) {
            if (target.dim(i) == 1 && t.shape().dim(i) != 1) {
                t = t.sum(i, true);
            }
        }
        return t;
    }

    // ------------------------------------------------------------------ indexing

    private static void requireIndex(String op, Tensor index) {
        if (index.requireOpen(op).dtype() != DType.INT32) {
            throw new IllegalArgumentException(op + ": index must be INT32, got " + index.dtype());
        }
    }

    /** Checks index fits x on every axis but {@code a}, as PyTorch requires. */
    private static void requireFits(String op, Shape index, Shape x, int a) {
        if (index.rank() != x.rank()) {
            throw new IllegalArgumentException(op + ": index " + index + " and input " + x + " differ in rank");
        }
        for (int d = 0; d < x.rank(); d++) {
            if (d != a && index.dim(d) > x.dim(d)) {
                throw new IllegalArgumentException(
                        op + ": index " + index + " is larger than input " + x + " on axis " + d);
            }
        }
    }

    static Tensor gather(Tensor x, int axis, Tensor index) {
        requireIndex("gather", index);
        Backends.requireSame("gather", x.backend(), index.backend());
        int a = x.requireOpen("gather").shape().normalizeAxis(axis, "gather");
        requireFits("gather", index.shape(), x.shape(), a);
        Tensor xf = x.toFloat();
        Tensor out = Tensor.empty(x.backend(), DType.FLOAT32, index.shape().dims());
        x.backend().index(IndexOp.GATHER, a, xf.operand(), index.operand(), out.operand());
        return Autograd.record(out, "gather", xf, d -> {
            Tensor dx = xf.zerosLike();
            dx.backend().index(IndexOp.SCATTER_ADD, a, d.operand(), index.operand(), dx.operand());
            return dx;
        });
    }

    static Tensor scatterAdd(Tensor base, int axis, Tensor index, Tensor src) {
        requireIndex("scatterAdd", index);
        Backends.requireSame("scatterAdd", base.backend(), index.backend());
        Backends.requireSame("scatterAdd", base.backend(), src.backend());
        int a = base.requireOpen("scatterAdd").shape().normalizeAxis(axis, "scatterAdd");
        requireFits("scatterAdd", index.shape(), base.shape(), a);
        Shape is = index.shape();
        if (src.requireOpen("scatterAdd").shape().rank() != is.rank()) {
            throw new IllegalArgumentException(
                    "scatterAdd: source " + src.shape() + " and index " + is + " differ in rank");
        }
        Tensor used = src.toFloat(); // PyTorch reads only the part of src that index covers
        for (int d = 0; d < is.rank(); d++) {
            if (used.shape().dim(d) < is.dim(d)) {
                throw new IllegalArgumentException(
                        "scatterAdd: source " + src.shape() + " is smaller than index " + is);
            }
            if (used.shape().dim(d) > is.dim(d)) {
                used = used.narrow(d, 0, is.dim(d));
            }
        }
        Tensor basef = base.toFloat();
        Tensor out = Tensor.empty(base.backend(), DType.FLOAT32, base.shape().dims());
        try (GradMode ng = GradMode.noGrad()) {
            out.copyFrom(basef);
        }
        base.backend().index(IndexOp.SCATTER_ADD, a, used.operand(), index.operand(), out.operand());
        return Autograd.record(out, "scatterAdd", basef, d -> d, used, d -> gather(d, a, index));
    }

    static Tensor indexSelect(Tensor x, int axis, Tensor index) {
        requireIndex("indexSelect", index);
        Shape s = x.requireOpen("indexSelect").shape();
        int a = s.normalizeAxis(axis, "indexSelect");
        if (index.shape().rank() != 1) {
            throw new IllegalArgumentException("indexSelect: index must be 1-D, got " + index.shape());
        }
        int[] lifted = new int[s.rank()];
        Arrays.fill(lifted, 1);
        lifted[a] = index.numel();
        int[] outDims = s.dims();
        outDims[a] = index.numel();
        // The index, broadcast over every other axis without a copy, is a gather.
        return gather(x, a, index.reshape(lifted).broadcastTo(Shape.of(outDims)));
    }

    static Tensor maskedSelect(Tensor x, Tensor mask) {
        Shape s = Shape.broadcast("maskedSelect", x.requireOpen("maskedSelect").shape(), mask.shape());
        // The result's length depends on the mask's values, so they are read back.
        float[] m = mask.requireOpen("maskedSelect")
                .toFloat()
                .broadcastTo(s)
                .contiguous()
                .toFloatArray();
        int[] picked = new int[m.length];
        int n = 0;
        for (int i = 0; i < m.length; i++) {
            if (m[i] != 0) {
                picked[n++] = i;
            }
        }
        Tensor flat = x.broadcastTo(s).contiguous().reshape(-1);
        return flat.indexSelect(0, Tensor.ofInts(x.backend(), Arrays.copyOf(picked, n), n));
    }

    static float get(Tensor x, int... coords) {
        Shape s = x.requireOpen("get").shape();
        if (coords.length != s.rank()) {
            throw new IllegalArgumentException(
                    "get: " + Arrays.toString(coords) + " has " + coords.length + " indices for " + s);
        }
        int[] c = new int[coords.length];
        for (int d = 0; d < c.length; d++) {
            int i = coords[d] < 0 ? coords[d] + s.dim(d) : coords[d];
            if (i < 0 || i >= s.dim(d)) {
                throw new IndexOutOfBoundsException("get: index " + coords[d] + " is outside axis " + d + " of " + s);
            }
            c[d] = i;
        }
        int at = x.layout().offsetOf(c);
        if (x.dtype() == DType.INT32) {
            int[] v = new int[1];
            x.backend().readInts(x.operand().storage(), at, v, 0, 1);
            return v[0];
        }
        float[] v = new float[1];
        x.backend().read(x.operand().storage(), at, v, 0, 1);
        return v[0];
    }
}
