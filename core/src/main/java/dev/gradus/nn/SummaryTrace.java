package dev.gradus.nn;

import dev.gradus.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * The output shapes that layers report while {@link Module#summary} runs a model once, in call order.
 *
 * <p>Per thread: a summary on one thread does not see (or slow) another thread's forward passes. The count of
 * threads tracing keeps the cost for everyone else to one volatile read per layer call.
 */
final class SummaryTrace {
    /** One layer call: the module and the shape it returned. */
    record Call(Module module, Shape output) {}

    private static final ThreadLocal<List<Call>> CALLS = new ThreadLocal<>();
    private static volatile int tracing;

    private SummaryTrace() {}

    /** True while this thread runs a summary's forward pass (fusion then keeps layers apart, so each reports). */
    static boolean active() {
        return tracing > 0 && CALLS.get() != null;
    }

    static void record(Module module, Shape output) {
        if (tracing > 0) {
            List<Call> calls = CALLS.get();
            if (calls != null) {
                calls.add(new Call(module, output));
            }
        }
    }

    /** Runs {@code pass} on this thread and returns the calls the layers reported, in order. */
    static synchronized List<Call> run(Runnable pass) {
        List<Call> calls = new ArrayList<>();
        CALLS.set(calls);
        tracing++;
        try {
            pass.run();
        } finally {
            tracing--;
            CALLS.remove();
        }
        return calls;
    }
}
