package dev.gradus;

/**
 * One recorded op of the dynamic tape: its inputs and how to turn the output's gradient into theirs.
 */
final class Node {
    /** Maps the output gradient to one gradient per input (null where an input needs none). */
    @FunctionalInterface
    interface Backward {
        Tensor[] apply(Tensor dOut);
    }

    final String op;
    final Tensor[] inputs;
    Backward backward;

    Node(String op, Tensor[] inputs, Backward backward) {
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
    }

    boolean freed() {
        return backward == null;
    }

    void free() {
        backward = null;
    }
}
