package dev.gradus.onnx;

import com.google.protobuf.ByteString;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Module;
import dev.gradus.nn.Sequential;
import dev.gradus.onnx.proto.OnnxProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * An ONNX graph being written: nodes appended in order, weights as initializers, each value with the shape Gradus
 * gives it. {@link Onnx} makes one per export; a model with a forward of its own ({@link OnnxExportable}) writes
 * its children with {@link #module} and its own glue with the tensor steps here, named and behaving as Gradus's
 * ({@link #reshape}, {@link #permute}, {@link #narrow}, {@link #squeeze}, {@link #cat}, {@link #add}).
 *
 * <p>Shapes: a {@link Value}'s shape is the one Gradus computes for the config's input, batch axis included; in the
 * file that axis is symbolic, so the steps are written not to fix it (a reshape copies the leading axes it keeps).
 *
 * <pre>{@code
 * OnnxGraph.Value steps = graph.module(lstm, graph.reshape(x, n, 28, 28), name + "_lstm");
 * return graph.module(head, graph.squeeze(graph.narrow(steps, 1, 27, 1), 1), name + "_head");
 * }</pre>
 */
public final class OnnxGraph {
    /** A value of the graph: the name nodes refer to it by, and its shape for the config's input. */
    public record Value(String name, Shape shape) {}

    private final OnnxProto.Graph.Builder graph = OnnxProto.Graph.newBuilder().setName("gradus");
    private final Set<String> names = new HashSet<>();
    private final Set<String> integers = new HashSet<>();
    private int counter;

    OnnxGraph() {}

    OnnxProto.Graph.Builder proto() {
        return graph;
    }

    /** Takes {@code name} for a value made outside {@link #node} (the graph's input); returns it. */
    String claim(String name, boolean integer) {
        if (!names.add(name)) {
            throw new IllegalStateException("onnx: the name " + name + " is taken");
        }
        if (integer) {
            integers.add(name);
        }
        return name;
    }

    /** True for a value of integers (the graph's input declared INT32): ids, not features. */
    boolean isInteger(Value v) {
        return integers.contains(v.name());
    }

    /**
     * Writes module {@code m} applied to {@code x}, naming its nodes and weights after {@code name}: a
     * {@link Sequential}'s layers in order, a module that is {@link OnnxExportable} as it writes itself, a built-in
     * layer as its ONNX form (see {@link Onnx}).
     *
     * @throws IllegalArgumentException naming the module, its input shape and why, if it has no ONNX form
     */
    public Value module(Module m, Value x, String name) {
        boolean sequential = m.getClass() == Sequential.class;
        String at = name.isEmpty() && !sequential ? "layer0" : name;
        try {
            if (m instanceof OnnxExportable e) {
                Value y = e.toOnnx(this, x, at);
                if (y == null) {
                    throw new IllegalArgumentException("its toOnnx returned null, not the output's value");
                }
                return y;
            }
            if (sequential) {
                List<Module> layers = ((Sequential) m).layers();
                Value v = x;
                for (int i = 0; i < layers.size(); i++) {
                    v = module(layers.get(i), v, at.isEmpty() ? "layer" + i : at + "_" + i);
                }
                return v;
            }
            return Layers.write(this, m, x, at);
        } catch (ExportException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ExportException(
                    "onnx: " + at + " (" + m.describe() + ") on input " + x.shape() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) { // a user's toOnnx that fails, a closed layer: still named by its path
            throw new ExportException("onnx: " + at + " (" + m.describe() + ") on input " + x.shape() + ": " + e, e);
        }
    }

    /**
     * {@code x.reshape(dims)} (one may be -1); the leading axes it keeps are written as copied (ONNX's 0), so a
     * symbolic batch there stays symbolic.
     */
    public Value reshape(Value x, int... dims) {
        Shape to = x.shape().reshape(dims);
        int[] from = x.shape().dims();
        long[] written = new long[dims.length];
        boolean leading = true;
        for (int i = 0; i < dims.length; i++) {
            leading = leading && i < from.length && from[i] == to.dim(i);
            written[i] = leading ? 0 : dims[i];
        }
        return node("Reshape", "reshape", to, List.of(x.name(), longs("reshape_shape", written)));
    }

    /** {@code x.permute(dims)}: axis {@code i} of the result is axis {@code dims[i]} of {@code x}. */
    public Value permute(Value x, int... dims) {
        int[] from = x.shape().dims();
        if (dims.length != from.length) {
            throw new IllegalArgumentException("permute: " + dims.length + " axes for " + x.shape());
        }
        int[] to = new int[dims.length];
        long[] perm = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            to[i] = from[dims[i]];
            perm[i] = dims[i];
        }
        return node("Transpose", "transpose", Shape.of(to), List.of(x.name()), intsAttr("perm", perm));
    }

    /** {@code x.transpose(dim0, dim1)}: the two axes swapped. */
    public Value transpose(Value x, int dim0, int dim1) {
        int rank = x.shape().rank();
        int a = Math.floorMod(dim0, rank);
        int b = Math.floorMod(dim1, rank);
        int[] perm = new int[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = i == a ? b : i == b ? a : i;
        }
        return permute(x, perm);
    }

    /** {@code x.narrow(axis, start, length)}: {@code length} entries of {@code axis} from {@code start}. */
    public Value narrow(Value x, int axis, int start, int length) {
        int[] d = x.shape().dims();
        int ax = Math.floorMod(axis, d.length);
        if (start < 0 || length < 0 || start + length > d[ax]) {
            throw new IllegalArgumentException(
                    "narrow: " + start + " + " + length + " outside axis " + axis + " of " + x.shape());
        }
        d[ax] = length;
        return node(
                "Slice",
                "slice",
                Shape.of(d),
                List.of(
                        x.name(),
                        longs("slice_starts", start),
                        longs("slice_ends", start + length),
                        longs("slice_axes", ax)));
    }

    /** {@code x.squeeze(axis)}: the axis, of size 1, removed. */
    public Value squeeze(Value x, int axis) {
        int[] d = x.shape().dims();
        int ax = Math.floorMod(axis, d.length);
        if (d[ax] != 1) {
            throw new IllegalArgumentException("squeeze: axis " + axis + " of " + x.shape() + " is not 1");
        }
        int[] to = new int[d.length - 1];
        for (int i = 0, j = 0; i < d.length; i++) {
            if (i != ax) {
                to[j++] = d[i];
            }
        }
        return node("Squeeze", "squeeze", Shape.of(to), List.of(x.name(), longs("squeeze_axes", ax)));
    }

    /** {@code Tensor.cat(xs, axis)}: the values joined along {@code axis}. */
    public Value cat(List<Value> xs, int axis) {
        int[] d = xs.get(0).shape().dims();
        int ax = Math.floorMod(axis, d.length);
        List<String> in = new ArrayList<>();
        int total = 0;
        for (Value v : xs) {
            total += v.shape().dim(ax);
            in.add(v.name());
        }
        d[ax] = total;
        return node("Concat", "concat", Shape.of(d), in, intAttr("axis", ax));
    }

    /** {@code a.add(b)}, broadcasting. */
    public Value add(Value a, Value b) {
        return node("Add", "add", Shape.broadcast("add", a.shape(), b.shape()), List.of(a.name(), b.name()));
    }

    /** {@code x [1, ...]} repeated along its first axis to the batch of {@code like} (its first axis). */
    public Value expandBatch(Value x, Value like) {
        int[] d = x.shape().dims();
        if (d.length == 0 || d[0] != 1) {
            throw new IllegalArgumentException("expandBatch: expected [1, ...], got " + x.shape());
        }
        Value batch =
                node("Shape", "batch_size", Shape.of(1), List.of(like.name()), intAttr("start", 0), intAttr("end", 1));
        long[] rest = new long[d.length - 1];
        for (int i = 1; i < d.length; i++) {
            rest[i - 1] = d[i];
        }
        Value shape = node(
                "Concat",
                "expand_shape",
                Shape.of(d.length),
                List.of(batch.name(), longs("expand_rest", rest)),
                intAttr("axis", 0));
        d[0] = like.shape().dim(0);
        return node("Expand", "expand", Shape.of(d), List.of(x.name(), shape.name()));
    }

    /** A weight or other constant tensor as an initializer named after {@code name}. */
    public Value parameter(String name, Tensor t) {
        return new Value(floats(name, t.toFloatArray(), t.shape().dims()), t.shape());
    }

    /** Adds a node with one output, named after {@code name}, and returns that output. */
    Value node(String op, String name, Shape shape, List<String> inputs, OnnxProto.Attribute... attrs) {
        String out = unique(name);
        graph.addNode(OnnxProto.Node.newBuilder()
                .setName(out + "_" + counter++)
                .setOpType(op)
                .addAllInput(inputs)
                .addOutput(out)
                .addAllAttribute(List.of(attrs)));
        return new Value(out, shape);
    }

    /** An initializer of floats in row-major order with {@code dims}; returns its name. */
    String floats(String name, float[] values, int... dims) {
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(values.length, Float.BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return initializer(name, OnnxProto.Tensor.DataType.FLOAT_VALUE, b.array(), dims);
    }

    /** A scalar float initializer; returns its name. */
    String scalar(String name, float v) {
        return floats(name, new float[] {v});
    }

    /** A 1-D INT64 initializer (shapes, axes, indices); returns its name. */
    String longs(String name, long... values) {
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(values.length, Long.BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return initializer(name, OnnxProto.Tensor.DataType.INT64_VALUE, b.array(), values.length);
    }

    private String initializer(String name, int type, byte[] raw, int... dims) {
        OnnxProto.Tensor.Builder t = OnnxProto.Tensor.newBuilder()
                .setName(unique(name))
                .setDataType(type)
                .setRawData(ByteString.copyFrom(raw));
        for (int d : dims) {
            t.addDims(d);
        }
        graph.addInitializer(t);
        return t.getName();
    }

    /** {@code name}, or {@code name_2}, {@code name_3}, ... if taken: every value of the graph has its own name. */
    private String unique(String name) {
        String n = name;
        for (int i = 2; !names.add(n); i++) {
            n = name + "_" + i;
        }
        return n;
    }

    private static OnnxProto.Attribute.Builder attr(String name, OnnxProto.Attribute.Type type) {
        return OnnxProto.Attribute.newBuilder().setName(name).setType(type);
    }

    static OnnxProto.Attribute intAttr(String name, long v) {
        return attr(name, OnnxProto.Attribute.Type.INT).setI(v).build();
    }

    static OnnxProto.Attribute floatAttr(String name, float v) {
        return attr(name, OnnxProto.Attribute.Type.FLOAT).setF(v).build();
    }

    static OnnxProto.Attribute stringAttr(String name, String v) {
        return attr(name, OnnxProto.Attribute.Type.STRING)
                .setS(ByteString.copyFromUtf8(v))
                .build();
    }

    static OnnxProto.Attribute intsAttr(String name, long... v) {
        OnnxProto.Attribute.Builder a = attr(name, OnnxProto.Attribute.Type.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    /** An export error already naming where it happened, so an enclosing module does not name it again. */
    static final class ExportException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        ExportException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
