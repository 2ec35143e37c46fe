package dev.gradus;

/**
 * One recorded op of the dynamic tape: its inputs and how to turn the output's gradient into theirs.
 */
final class Node {
    final String op;
    final Tensor[] inputs;
    /** The layer the op ran in, kept only in {@link Anomaly} mode for its messages. */
    final String layer;

    Autograd.Backward backward;
    /**
     * For a view op of one input (narrow): adds the output's gradient into the input's gradient in place, so T
     * slices of one tensor cost T slices of work backward, not T whole-size gradients; null for other ops.
     */
    Autograd.ScatterInto scatter;

    Node(String op, Tensor[] inputs, Autograd.Backward backward, String layer) {
        this.op = op;
        this.inputs = inputs.clone(); // the caller may refill its array for its next op
        this.backward = backward;
        this.layer = layer;
    }

    boolean freed() {
        return backward == null;
    }

    void free() {
        backward = null;
        scatter = null;
    }
}
