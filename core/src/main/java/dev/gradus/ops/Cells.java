package dev.gradus.ops;

/** What the fused recurrent steps ({@link LstmCell}, {@link GruCell}) share: their shape check, sigmoid and tanh. */
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

    /** Below this {@code tanh(v)} rounds to {@code v} in float ({@code v^2 / 3} under half an ulp). */
    private static final float TANH_LINEAR = 0x1p-12f;

    /** From this {@code tanh(v)} rounds to 1 in float ({@code 1 - tanh(9) < 2^-25}); exp would overflow near 355. */
    private static final float TANH_ONE = 10f;

    /**
     * {@code tanh(v)} to float precision from one {@link Math#exp} (a JIT intrinsic) in double:
     * {@code (e - 1) / (e + 1)} with {@code e = exp(2|v|)}. Why: JDK 17's {@link Math#tanh} is a native call
     * (StrictMath's fdlibm) of about 70 ns, and it took more than half of the {@code lstm} example's time.
     *
     * <pre>{@code float t = Cells.tanh(0.5f);   // 0.46211717f}</pre>
     */
    static float tanh(float v) {
        float a = Math.abs(v);
        if (a < TANH_LINEAR) {
            return v; // also keeps -0
        }
        if (a >= TANH_ONE) {
            return Math.copySign(1f, v);
        }
        double e = Math.exp(2.0 * a); // NaN stays NaN
        return Math.copySign((float) ((e - 1.0) / (e + 1.0)), v);
    }
}
