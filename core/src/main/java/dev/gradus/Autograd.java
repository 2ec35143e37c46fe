package dev.gradus;

import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.Storage;
import dev.gradus.spi.UnaryOp;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The reverse-mode engine: records each op on a dynamic tape and walks the tape back from an output; also the
 * lower-level way to define a differentiable op of one's own ({@link dev.gradus.ops.Op} adds a shape rule, checks
 * and kernels of one's own on top of it).
 *
 * <p>An op is its forward (any tensor code, or backend kernels on {@link Tensor#operand()}) followed by
 * {@link #record}, which attaches the backward rule beside it. {@link Functional} and every {@link Tensor} op
 * are written this way; so can users be:
 *
 * <pre>{@code
 * static Tensor swish(Tensor x) {                     // x * sigmoid(x), with its own gradient
 *     Tensor s;
 *     Tensor out;
 *     try (GradMode g = GradMode.noGrad()) {          // the forward is not recorded op by op
 *         s = x.sigmoid();
 *         out = x.mul(s);
 *     }
 *     return Autograd.record(out, "swish", x, dOut -> dOut.mul(s.add(out.mul(s.rsub(1f)))));
 * }
 * }</pre>
 */
public final class Autograd {
    private Autograd() {}

    /**
     * A backward rule: the gradient of each input from the gradient of the output, in input order; null where an
     * input needs none. Each gradient has its input's shape. It runs with gradients off.
     */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor dOut);
    }

    /**
     * Records {@code out = op(inputs)} on the tape when gradients are on and some input requires one, and returns
     * {@code out}; otherwise returns {@code out} unchanged. Null inputs (an absent bias) are allowed.
     *
     * <p>Shapes: any; the rule's gradients must match the inputs' shapes (the engine checks).
     *
     * <pre>{@code Autograd.record(out, "square", d -> new Tensor[] {d.mul(x).mul(2f)}, x)}</pre>
     */
    public static Tensor record(Tensor out, String op, Backward backward, Tensor... inputs) {
        boolean anomaly = Anomaly.isEnabled();
        if (recording(inputs)) {
            out.requiresGrad = true;
            out.gradFn = new Node(op, inputs, backward, anomaly ? Anomaly.currentLayer() : null);
        }
        if (anomaly) {
            Anomaly.checkForward(op, out, inputs);
        }
        return out;
    }

    /**
     * The gradient of one input from the gradient of the output, with that input's shape; it runs with gradients
     * off, and only when the input requires a gradient.
     */
    @FunctionalInterface
    public interface Rule {
        Tensor apply(Tensor dOut);
    }

    /**
     * {@link #record(Tensor, String, Backward, Tensor...)} for an op of one input.
     *
     * <pre>{@code Autograd.record(out, "exp", x, d -> d.mul(out))}</pre>
     */
    public static Tensor record(Tensor out, String op, Tensor input, Rule dInput) {
        return record(out, op, d -> new Tensor[] {dInput.apply(d)}, input);
    }

    /**
     * {@link #record(Tensor, String, Backward, Tensor...)} for an op of two inputs, one rule each; a rule runs
     * only for an input that requires a gradient.
     *
     * <pre>{@code Autograd.record(out, "mul", a, d -> d.mul(b), b, d -> d.mul(a))}</pre>
     */
    public static Tensor record(Tensor out, String op, Tensor a, Rule dA, Tensor b, Rule dB) {
        return record(out, op, d -> new Tensor[] {needs(a) ? dA.apply(d) : null, needs(b) ? dB.apply(d) : null}, a, b);
    }

    /** Adds {@code dOut} into the part of {@code acc} (the input's whole gradient) that the output viewed. */
    @FunctionalInterface
    interface ScatterInto {
        void addInto(Tensor acc, Tensor dOut);
    }

    /**
     * {@link #record(Tensor, String, Tensor, Rule)} for a view of part of {@code input}, with the in-place form of
     * its backward, which the engine uses to add each view's gradient into one buffer for the input (the rule
     * stays for anomaly mode).
     */
    static Tensor recordView(Tensor out, String op, Tensor input, Rule dInput, ScatterInto scatter) {
        Tensor r = record(out, op, input, dInput);
        if (r.gradFn != null) {
            r.gradFn.scatter = scatter;
        }
        return r;
    }

    private static boolean needs(Tensor t) {
        return t != null && t.requiresGrad;
    }

    private static boolean recording(Tensor... inputs) {
        if (!GradMode.isEnabled()) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad) {
                return true;
            }
        }
        return false;
    }

    /**
     * Back-propagates {@code seed} (ones for a one-element {@code root} when null) from {@code root} into every
     * leaf's {@code grad}; see {@link Tensor#backward}.
     */
    static void backward(Tensor root, Tensor seed, boolean retainGraph) {
        root.check("backward");
        if (seed == null) {
            if (root.numel() != 1) {
                throw new IllegalStateException("backward: output has shape " + root.shape + "; a non-scalar output"
                        + " needs a seed gradient: call backward(seed) with a tensor of that shape");
            }
            try (GradMode ng = GradMode.noGrad()) {
                backward(root, Tensor.full(root.backend, 1f, root.shape.dims()), retainGraph);
            }
            return;
        }
        if (!root.requiresGrad) {
            throw new IllegalStateException("backward: tensor " + root.shape + " does not require grad (no parameter"
                    + " or requiresGrad(true) input led to it, or it was made under GradMode.noGrad())");
        }
        if (!seed.shape.equals(root.shape)) {
            throw new IllegalArgumentException("backward: seed " + seed.shape + " does not match output " + root.shape);
        }
        List<Tensor> order = topoOrder(root);
        boolean anomaly = Anomaly.isEnabled();
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        grads.put(root, seed);
        long firstMade = Tensor.nextSerial();
        List<Tensor> consumed = new ArrayList<>();
        Set<Tensor> owned = Collections.newSetFromMap(new IdentityHashMap<>());
        try (GradMode ng = GradMode.noGrad()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = grads.remove(t);
                if (g == null) {
                    continue;
                }
                if (t.gradFn == null) {
                    accumulate(t, g); // copies or adds g into the leaf's own gradient
                    consumed.add(g);
                    release(consumed, grads, firstMade);
                    continue;
                }
                Node node = t.gradFn;
                if (node.freed()) {
                    throw new IllegalStateException("backward: the graph through '" + node.op + "' was already freed"
                            + " by an earlier backward(); call backward(seed, true) to keep it, or run forward again");
                }
                Tensor viewed = node.inputs.length == 1 ? node.inputs[0] : null;
                if (node.scatter != null && !anomaly && viewed != null && viewed.requiresGrad) {
                    // One gradient buffer per viewed input, owned here, each view's gradient added into its part.
                    Tensor acc = grads.get(viewed);
                    if (acc == null || !owned.contains(acc)) {
                        Tensor fresh = viewed.zerosLike();
                        if (acc != null) {
                            fresh.backend.binary(BinaryOp.ADD, fresh.operand(), acc.operand(), fresh.operand());
                            consumed.add(acc);
                        }
                        owned.add(fresh);
                        grads.put(viewed, fresh);
                        acc = fresh;
                    }
                    node.scatter.addInto(acc, g);
                    if (!retainGraph) {
                        node.free();
                    }
                    consumed.add(g);
                    release(consumed, grads, firstMade);
                    continue;
                }
                Tensor[] gin = anomaly ? Anomaly.quietly(() -> node.backward.apply(g)) : node.backward.apply(g);
                for (int j = 0; j < node.inputs.length; j++) {
                    Tensor in = node.inputs[j];
                    Tensor gi = j < gin.length ? gin[j] : null;
                    if (in == null || gi == null || !in.requiresGrad) {
                        continue;
                    }
                    if (!gi.shape.equals(in.shape)) {
                        throw new IllegalStateException("backward: '" + node.op + "' gave a gradient " + gi.shape
                                + " for an input " + in.shape);
                    }
                    if (anomaly) {
                        Anomaly.checkBackward(node, j, gi, g);
                    }
                    Tensor prev = grads.get(in);
                    if (prev == null) {
                        grads.put(in, gi);
                    } else {
                        grads.put(in, prev.add(gi));
                        consumed.add(prev);
                        consumed.add(gi);
                    }
                }
                if (!retainGraph) {
                    node.free();
                }
                consumed.add(g); // kept if an op handed it on as an input's gradient (add passes g through)
                release(consumed, grads, firstMade);
            }
        }
    }

    /**
     * Closes the gradients in {@code consumed} that this backward made and nothing still holds, so each step's
     * gradient buffers return to the backend as soon as they are used: the next gradient of that size reuses a
     * buffer that is still in cache, and peak memory holds the gradient frontier rather than every gradient.
     */
    private static void release(List<Tensor> consumed, Map<Tensor, Tensor> grads, long firstMade) {
        for (Tensor c : consumed) {
            if (c != null && c.serial >= firstMade && !containsIdentity(grads.values(), c)) {
                c.close();
            }
        }
        consumed.clear();
    }

    private static boolean containsIdentity(Iterable<Tensor> ts, Tensor t) {
        for (Tensor x : ts) {
            if (x == t) {
                return true;
            }
        }
        return false;
    }

    /** Tensors reachable from {@code root} through inputs needing gradients, inputs before the ops using them. */
    private static List<Tensor> topoOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, 0});
        seen.add(root);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Tensor t = (Tensor) top[0];
            int next = (Integer) top[1];
            Tensor[] ins = t.gradFn == null ? new Tensor[0] : t.gradFn.inputs;
            if (next < ins.length) {
                top[1] = next + 1;
                Tensor in = ins[next];
                if (in != null && in.requiresGrad && seen.add(in)) {
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }

    /** Adds {@code g} into the leaf's gradient, or writes it there after {@code zeroGrad} (no fill pass). */
    private static void accumulate(Tensor leaf, Tensor g) {
        if (leaf.grad == null || leaf.gradStale) {
            if (leaf.grad == null) {
                NativeReclaimer.beforeAllocate((long) leaf.numel() * Float.BYTES);
                Storage s = leaf.backend.allocate(DType.FLOAT32, leaf.numel());
                leaf.grad = new Tensor(
                        new StorageRef(leaf.backend, s), Layout.contiguous(leaf.shape.dims()), DType.FLOAT32, false);
            }
            leaf.gradStale = false;
            leaf.backend.unary(UnaryOp.IDENTITY, 0f, g.operand(), leaf.grad.operand());
        } else {
            Operand acc = leaf.grad.operand();
            leaf.backend.binary(BinaryOp.ADD, acc, g.operand(), acc);
        }
    }
}
