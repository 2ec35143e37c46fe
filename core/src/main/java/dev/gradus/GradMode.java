package dev.gradus;

/**
 * Turns graph recording off for inference, per thread.
 *
 * <pre>{@code
 * try (var ng = GradMode.noGrad()) {
 *     Tensor logits = model.forward(x); // no graph is kept
 * }
 * }</pre>
 */
public final class GradMode implements AutoCloseable {
    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> Boolean.TRUE);

    private final boolean previous;

    private GradMode(boolean enabled) {
        previous = ENABLED.get();
        ENABLED.set(enabled);
    }

    /** Disables gradient recording until the returned guard closes. */
    public static GradMode noGrad() {
        return new GradMode(false);
    }

    /** Enables gradient recording until the returned guard closes. */
    public static GradMode enableGrad() {
        return new GradMode(true);
    }

    /** True when ops record the graph on this thread. */
    public static boolean isEnabled() {
        return ENABLED.get();
    }

    @Override
    public void close() {
        ENABLED.set(previous);
    }
}
