package dev.gradus;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Anomaly mode: every op checks its output, and backward checks every gradient it makes, for NaN and infinity,
 * stopping at the first with an {@link AnomalyException} that names the op, the layer and the shapes (as
 * PyTorch's {@code torch.autograd.detect_anomaly}). It copies each result to the host, so it is for debugging.
 *
 * <pre>{@code
 * try (var a = Anomaly.detect()) {
 *     model.forward(x).crossEntropy(y).backward(); // throws at the op that made the first NaN
 * }
 * }</pre>
 *
 * <p>{@link #setEnabled} (or {@code -Dgradus.detectAnomaly=true}) switches it on for every thread.
 */
public final class Anomaly implements AutoCloseable {
    private static volatile boolean global = Boolean.getBoolean("gradus.detectAnomaly");
    private static final ThreadLocal<Boolean> LOCAL = ThreadLocal.withInitial(() -> Boolean.FALSE);
    /** Guards open on any thread: lets the common case (none) skip the thread-local lookup. */
    private static final AtomicInteger OPEN = new AtomicInteger();

    private static final ThreadLocal<ArrayDeque<String>> LAYERS = ThreadLocal.withInitial(ArrayDeque::new);
    /** Depth of work whose ops must not be checked one by one: the check itself, and backward passes. */
    private static final ThreadLocal<int[]> QUIET = ThreadLocal.withInitial(() -> new int[1]);

    private final boolean previous;
    private boolean closed;

    private Anomaly() {
        previous = LOCAL.get();
        LOCAL.set(true);
        OPEN.incrementAndGet();
    }

    /** Turns anomaly mode on for this thread until the returned guard closes. */
    public static Anomaly detect() {
        return new Anomaly();
    }

    /** Turns anomaly mode on or off for all threads. */
    public static void setEnabled(boolean enabled) {
        global = enabled;
    }

    /** True when ops on this thread check their results. */
    public static boolean isEnabled() {
        return global || OPEN.get() > 0 && LOCAL.get();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LOCAL.set(previous);
            OPEN.decrementAndGet();
        }
    }

    /** Marks that ops from here on run inside {@code layer}, until {@link #exitLayer}; for messages only. */
    public static void enterLayer(String layer) {
        LAYERS.get().push(layer);
    }

    /** Leaves the layer entered last. */
    public static void exitLayer() {
        LAYERS.get().poll();
    }

    /** The layers ops run in now, outermost first, or null outside any. */
    static String currentLayer() {
        ArrayDeque<String> stack = LAYERS.get();
        if (stack.isEmpty()) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        var it = stack.descendingIterator();
        while (it.hasNext()) {
            sb.append(sb.length() == 0 ? "" : " > ").append(it.next());
        }
        return sb.toString();
    }

    /**
     * The first NaN or infinity in {@code t} and its flat index ({@code "NaN (first at flat index 3)"}), or null if
     * all are finite; reading the values runs no checks of its own.
     */
    static String nonFinite(Tensor t) {
        if (t.dtype() != DType.FLOAT32) {
            return null;
        }
        float[] v = quietly(t::toFloatArray);
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return (Float.isNaN(v[i]) ? "NaN" : v[i] > 0 ? "+Infinity" : "-Infinity") + " (first at flat index " + i
                        + ")";
            }
        }
        return null;
    }

    /** Runs {@code r} with per-op checks off on this thread. */
    static <T> T quietly(Supplier<T> r) {
        int[] q = QUIET.get();
        q[0]++;
        try {
            return r.get();
        } finally {
            q[0]--;
        }
    }

    /** Checks the output of a forward op. */
    static void checkForward(String op, Tensor out, Tensor[] inputs) {
        if (QUIET.get()[0] > 0) {
            return;
        }
        String bad = nonFinite(out);
        if (bad == null) {
            return;
        }
        StringBuilder why = new StringBuilder();
        for (int i = 0; i < inputs.length; i++) {
            Tensor in = inputs[i];
            if (in != null && !in.isClosed()) {
                String inBad = nonFinite(in);
                if (inBad != null) {
                    why.append("; input ")
                            .append(i)
                            .append(' ')
                            .append(in.shape())
                            .append(" already held ")
                            .append(inBad)
                            .append(
                                    in.gradFn == null
                                            ? ": it is data or a parameter, not the result of a checked op"
                                            : "");
                }
            }
        }
        if (why.length() == 0) {
            why.append("; its inputs ").append(shapes(inputs)).append(" were all finite");
        }
        String layer = currentLayer();
        throw new AnomalyException(
                op,
                layer,
                "anomaly: '" + op + "' produced " + bad + " in its output " + out.shape()
                        + (layer != null ? " in " + layer : "") + why);
    }

    /** Checks the gradient that a recorded op's backward gave one of its inputs. */
    static void checkBackward(Node node, int input, Tensor grad, Tensor dOut) {
        String bad = nonFinite(grad);
        if (bad == null) {
            return;
        }
        String outBad = nonFinite(dOut);
        throw new AnomalyException(
                node.op,
                node.layer,
                "anomaly in backward: the gradient '" + node.op + "' gave its"
                        + " input " + input + " " + grad.shape() + " holds " + bad
                        + (node.layer != null ? "; the op ran forward in " + node.layer : "")
                        + (outBad == null
                                ? "; the incoming gradient " + dOut.shape() + " was finite"
                                : "; the incoming gradient already held " + outBad));
    }

    private static String shapes(Tensor[] inputs) {
        String[] s = new String[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            s[i] = inputs[i] == null ? "-" : inputs[i].shape().toString();
        }
        return Arrays.toString(s);
    }
}
