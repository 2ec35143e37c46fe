package dev.gradus.ops;

import dev.gradus.Autograd;
import dev.gradus.Backends;
import dev.gradus.DType;
import dev.gradus.GradMode;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import dev.gradus.spi.Operand;
import java.util.Arrays;
import java.util.StringJoiner;

/** What {@link Op#apply} does: checks the inputs, runs the forward on their backend, records the backward. */
final class OpCall {
    private OpCall() {}

    static Tensor apply(Op op, Tensor[] given) {
        String name = op.name();
        if (given == null || given.length == 0) {
            throw new IllegalArgumentException(name + ": no inputs");
        }
        // Our own copy: the backward and the graph keep it, and a caller may refill its array for the next call.
        Tensor[] inputs = given.clone();
        if (op.arity() >= 0 && inputs.length != op.arity()) {
            throw new IllegalArgumentException(
                    name + ": takes " + op.arity() + " inputs, got " + inputs.length + ": " + shapes(inputs));
        }
        for (int j = 0; j < inputs.length; j++) {
            if (inputs[j] == null) {
                throw new IllegalArgumentException(name + ": input " + j + " is null");
            }
            inputs[j].requireOpen(name);
            Backends.requireSame(name, inputs[0].backend(), inputs[j].backend());
        }
        int[] outShape = op.shapeRule() == null ? null : outputShape(op, inputs);
        Tensor out = op.kernels() != null ? runKernel(op, inputs, outShape) : runComposed(op, inputs);
        if (outShape != null && !Arrays.equals(outShape, out.shape().dims())) {
            throw new IllegalStateException(name + ": the forward gave " + out.shape() + ", the shape rule says "
                    + Arrays.toString(outShape) + " for " + shapes(inputs));
        }
        return out;
    }

    private static int[] outputShape(Op op, Tensor[] inputs) {
        int[][] shapes = new int[inputs.length][];
        for (int j = 0; j < inputs.length; j++) {
            shapes[j] = inputs[j].shape().dims();
        }
        int[] out;
        try {
            out = op.shapeRule().outputShape(shapes);
        } catch (IllegalArgumentException e) {
            String why = e.getMessage();
            throw new IllegalArgumentException(
                    op.name() + ": " + shapes(inputs) + (why == null || why.isBlank() ? "" : ": " + why), e);
        } catch (RuntimeException e) { // a bug in the rule (shapes[1] of one input, ...), not a refusal
            throw new IllegalStateException(op.name() + ": the shape rule failed on " + shapes(inputs) + ": " + e, e);
        }
        if (out == null || Arrays.stream(out).anyMatch(d -> d < 0)) {
            throw new IllegalArgumentException(
                    op.name() + ": the shape rule gave " + Arrays.toString(out) + " for " + shapes(inputs));
        }
        long elements = 1;
        for (int d : out) {
            elements = Math.min(elements * d, 1L << 40); // stays above 2^31 once past it, never wraps around
        }
        if (elements > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op.name() + ": the shape rule gave " + Arrays.toString(out) + " for "
                    + shapes(inputs) + ", " + (elements == 1L << 40 ? "over 2^40" : Long.toString(elements))
                    + " elements, more than the 2^31-1 a tensor may hold");
        }
        return out.clone();
    }

    private static Tensor runKernel(Op op, Tensor[] inputs, int[] outShape) {
        String name = op.name();
        Backend backend = inputs[0].backend();
        Tensor[] contiguous = new Tensor[inputs.length];
        Operand[] operands = new Operand[inputs.length];
        Tensor out = null;
        try {
            for (int j = 0; j < inputs.length; j++) {
                Tensor in = inputs[j];
                if (in.dtype() != DType.FLOAT32) {
                    throw new IllegalArgumentException(
                            name + ": input " + j + " is " + in.dtype() + " " + in.shape() + ", kernels take FLOAT32");
                }
                contiguous[j] = in.layout().isContiguous() ? in : in.dense(); // a copy, not recorded
                operands[j] = contiguous[j].operand();
            }
            out = Tensor.empty(backend, DType.FLOAT32, outShape);
            backend.runKernel(op.kernels(), operands, out.operand());
        } catch (RuntimeException | Error e) {
            if (out != null) {
                out.close();
            }
            throw e;
        } finally {
            for (int j = 0; j < inputs.length; j++) {
                if (contiguous[j] != null && contiguous[j] != inputs[j]) {
                    contiguous[j].close();
                }
            }
        }
        return record(op, out, inputs);
    }

    private static Tensor runComposed(Op op, Tensor[] inputs) {
        if (op.backward() == null) {
            return composed(op, inputs); // gradients flow through the ops it is made of
        }
        Tensor out;
        try (GradMode g = GradMode.noGrad()) {
            out = composed(op, inputs);
        }
        for (Tensor in : inputs) {
            if (out == in) {
                throw new IllegalStateException(op.name() + ": a composed forward with a backward must return a new"
                        + " tensor, not one of its inputs");
            }
        }
        return record(op, out, inputs);
    }

    private static Tensor composed(Op op, Tensor[] inputs) {
        Tensor out = op.composedForward().apply(inputs);
        if (out == null) {
            throw new IllegalStateException(op.name() + ": the composed forward returned null for " + shapes(inputs));
        }
        return out;
    }

    private static Tensor record(Op op, Tensor out, Tensor[] inputs) {
        OpBackward rule = op.backward();
        String name = op.name();
        if (rule == null) {
            return Autograd.record(
                    out,
                    name,
                    d -> {
                        throw new UnsupportedOperationException(name + ": has no backward, so it is not"
                                + " differentiable; build it with backward(...) or run it under GradMode.noGrad()");
                    },
                    inputs);
        }
        return Autograd.record(out, name, d -> checked(name, backward(name, rule, d, out, inputs), inputs), inputs);
    }

    /** The user's backward, an exception it throws named by the op and the shapes. */
    private static Tensor[] backward(String name, OpBackward rule, Tensor d, Tensor out, Tensor[] inputs) {
        try {
            return rule.apply(d, out, inputs);
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    name + ": the backward failed for " + shapes(inputs) + " -> " + out.shape() + ": " + e, e);
        }
    }

    /** The backward's result, one gradient (or null) per input, or an error naming the op. */
    private static Tensor[] checked(String name, Tensor[] grads, Tensor[] inputs) {
        if (grads == null || grads.length != inputs.length) {
            throw new IllegalStateException(name + ": the backward gave "
                    + (grads == null ? "null" : grads.length + " gradients") + " for " + inputs.length + " inputs "
                    + shapes(inputs) + "; return one per input, null where none is needed");
        }
        for (int j = 0; j < grads.length; j++) {
            Tensor g = grads[j];
            if (g != null && (g.dtype() != DType.FLOAT32 || g.backend() != inputs[j].backend())) {
                throw new IllegalStateException(name + ": the backward's gradient for input " + j + " "
                        + inputs[j].shape() + " is " + g.dtype() + " " + g.shape() + " on "
                        + g.backend().name()
                        + "; it must be FLOAT32 on " + inputs[j].backend().name());
            }
        }
        return grads;
    }

    /** {@code [3, 4] x [5]}. */
    static String shapes(Tensor[] inputs) {
        StringJoiner j = new StringJoiner(" x ");
        for (Tensor t : inputs) {
            j.add(t == null ? "null" : t.shape().toString());
        }
        return j.toString();
    }
}
