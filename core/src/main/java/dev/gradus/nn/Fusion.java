package dev.gradus.nn;

import dev.gradus.Anomaly;
import dev.gradus.Functional;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import java.lang.reflect.Method;
import java.util.List;

/**
 * The one place that decides which runs of a {@link Sequential}'s layers run as one fused op, and runs them: the
 * values and gradients are those of the layers one by one, in fewer passes over memory.
 *
 * <table>
 *   <caption>Fused runs</caption>
 *   <tr><th>Layers</th><th>Runs as</th></tr>
 *   <tr><td>Conv2d, ReLU, MaxPool2d</td><td>{@link Functional#conv2dReluMaxPool2d}</td></tr>
 *   <tr><td>Conv2d, ReLU</td><td>{@link Functional#conv2dRelu}</td></tr>
 *   <tr><td>ReLU, MaxPool2d</td><td>{@code relu(maxPool2d(x))}: the same values and gradients on a 4x smaller
 *       tensor</td></tr>
 * </table>
 *
 * <p>A layer takes part when it is one of these classes or a subclass of yours that does not override
 * {@code forward} (one that does keeps its own {@code forward}). Nothing fuses in anomaly mode (it names each
 * layer), during a {@link Module#summary} (it lists each layer's output), or with {@code -Dgradus.fuseLayers=false}
 * (for ablations and for bisecting a bug).
 */
final class Fusion {
    /** A fused run starting at some layer: how many layers it took, which one errors are blamed on, its output. */
    record Step(int layers, int blame, Tensor out) {}

    private static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("gradus.fuseLayers"));

    private Fusion() {}

    /** Whether runs may fuse now, on this thread. */
    static boolean enabled() {
        return ENABLED && !Anomaly.isEnabled() && !SummaryTrace.active();
    }

    /** The fused run of {@code layers} starting at {@code i} on input {@code h}, or null when none starts there. */
    static Step at(List<Module> layers, int i, Tensor h) {
        if (runsAs(layers, i, Conv2d.class) && runsAs(layers, i + 1, ReLU.class)) {
            Conv2d conv = (Conv2d) layers.get(i);
            conv.requireInput(h.shape());
            if (runsAs(layers, i + 2, MaxPool2d.class)) {
                MaxPool2d pool = (MaxPool2d) layers.get(i + 2);
                Shape pooled = pool.outputShape(conv.outputShape(h.shape()));
                if (pooled.dim(2) < 1 || pooled.dim(3) < 1) {
                    return null; // one by one, so the error names the pooling layer
                }
                // Three layers, one op: ReLU inside the convolution, its gradient on the pooled output.
                return new Step(
                        3,
                        i,
                        Functional.conv2dReluMaxPool2d(
                                h, conv.weight(), conv.bias(), conv.config().params(), pool.params()));
            }
            // Conv2d then ReLU in one pass over the activation instead of two (the values are the same).
            return new Step(
                    2,
                    i,
                    Functional.conv2dRelu(
                            h, conv.weight(), conv.bias(), conv.config().params()));
        }
        if (runsAs(layers, i, ReLU.class) && runsAs(layers, i + 1, MaxPool2d.class)) {
            // max(relu(x)) = relu(max(x)) with the same gradient (both reach the window's first maximum, masked by
            // its sign), and the second form applies ReLU and its gradient to a 4x smaller tensor.
            return new Step(2, i + 1, layers.get(i + 1).forward(h).relu());
        }
        return null;
    }

    /** Layer {@code i} exists and runs {@code type}'s own forward: it is one, and does not override it. */
    private static boolean runsAs(List<Module> layers, int i, Class<? extends Module> type) {
        return i < layers.size()
                && type.isInstance(layers.get(i))
                && FORWARD_OWNER.get(layers.get(i).getClass()) == type;
    }

    /** Per module class: the class whose {@code forward(Tensor)} it runs. */
    private static final ClassValue<Class<?>> FORWARD_OWNER = new ClassValue<>() {
        @Override
        protected Class<?> computeValue(Class<?> type) {
            try {
                Method m = type.getMethod("forward", Tensor.class);
                return m.getDeclaringClass();
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException(type + " has no forward(Tensor)", e);
            }
        }
    };
}
