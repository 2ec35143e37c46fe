package dev.gradus.ops;

/** What the fused recurrent steps ({@link LstmCell}, {@link GruCell}) share: their shape check and sigmoid. */
final class Cells {
    private Cells() {}

    /**
     * The state's {@code [N, H]}, checked: inputs 0 and 1 (the gates' two shares) {@code [N, gates * H]}, input 2
     * (the state, named {@code state}) {@code [N, H]}, the last input H as one element.
     */
    static int[] check(int[][] shapes, int gates, String state) {
        int[] s = shapes[2];
        int[] last = shapes[shapes.length - 1];
        if (s.length != 2 || last.length > 1 || last.length == 1 && last[0] != 1) {
            throw new IllegalArgumentException(state + " must be [N, H] and the last input H one element");
        }
        for (int k = 0; k < 2; k++) {
            if (shapes[k].length != 2 || shapes[k][0] != s[0] || shapes[k][1] != gates * s[1]) {
                throw new IllegalArgumentException(
                        "the gates' shares must be [N, " + gates + "H] for " + state + " [N, H]");
            }
        }
        return s;
    }

    /** As the CPU backend's sigmoid: split by sign so exp never overflows. */
    static float sigmoid(float v) {
        double e = Math.exp(-Math.abs(v));
        return (float) (v >= 0f ? 1.0 / (1.0 + e) : e / (1.0 + e));
    }
}
