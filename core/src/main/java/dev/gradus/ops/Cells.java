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

    /**
     * As the CPU backend's sigmoid, split by sign so exp never overflows, in float from {@link #expOfNegative}:
     * within 2 ulps (the double-precision form took 9.6 ns a value against 6.0, measured on JDK 17, Zen 4).
     */
    static float sigmoid(float v) {
        float e = expOfNegative(-Math.abs(v));
        return v >= 0f ? 1f / (1f + e) : e / (1f + e);
    }

    private static final float LOG2E = 1.44269504f;
    /** {@code ln 2} in two parts, the first exact in 9 bits so {@code k * LN2_HI} is exact for the k used. */
    private static final float LN2_HI = 0.693359375f;

    private static final float LN2_LO = -2.12194440e-4f;
    /** {@code 1.5 * 2^23}: adding it rounds a float below {@code 2^22} in magnitude to an integer. */
    private static final float ROUNDER = 12582912f;

    /**
     * {@code exp(x)} for {@code x <= 0} within 1 ulp, in float: {@code x = k ln 2 + r} with {@code |r| <= ln 2 / 2},
     * {@code e^r} by its Taylor series to {@code r^7}, times {@code 2^k}; below -87 it gives {@code e^-87}
     * ({@code 1.6e-38}, where the exact value is subnormal or 0). NaN stays NaN.
     *
     * <pre>{@code float e = Cells.expOfNegative(-1f);   // 0.36787945f}</pre>
     */
    static float expOfNegative(float x) {
        float y = Math.max(x, -87f);
        float k = y * LOG2E + ROUNDER;
        int n = Float.floatToRawIntBits(k) - Float.floatToRawIntBits(ROUNDER);
        k -= ROUNDER;
        float r = y - k * LN2_HI - k * LN2_LO;
        float p = 1f + expm1Taylor(r);
        return p * Float.intBitsToFloat((n + 127) << 23);
    }

    /**
     * {@code tanh(v)} in float as {@code -m / (2 + m)} with {@code m = expm1(-2|v|)} ({@link #expm1OfNegative}), sign
     * restored: no branch on the value, no cancellation near 0. Why not {@link Math#tanh}: on JDK 17 it is a native
     * call (StrictMath's fdlibm) of about 70 ns, and it took more than half of the {@code lstm} example's time.
     *
     * <pre>{@code float t = Cells.tanh(0.5f);   // 0.46211717f}</pre>
     */
    static float tanh(float v) {
        float m = expm1OfNegative(-2f * Math.abs(v));
        return Math.copySign(-m / (2f + m), v); // NaN stays NaN
    }

    /**
     * {@code e^x - 1} for {@code x <= 0}, in float: {@code x = k ln 2 + r} with {@code |r| <= ln 2 / 2}, then
     * {@code 2^k expm1(r) + (2^k - 1)}, {@code expm1(r)} by its Taylor series to {@code r^7}; below -87 it gives
     * {@code e^-87 - 1} (-1 in float).
     */
    private static float expm1OfNegative(float x) {
        float y = Math.max(x, -87f);
        float k = y * LOG2E + ROUNDER;
        int n = Float.floatToRawIntBits(k) - Float.floatToRawIntBits(ROUNDER);
        k -= ROUNDER;
        float r = y - k * LN2_HI - k * LN2_LO;
        float q = expm1Taylor(r);
        float scale = Float.intBitsToFloat((n + 127) << 23);
        return scale * q + (scale - 1f);
    }

    /** {@code e^r - 1} for {@code |r| <= ln 2 / 2} by its Taylor series to {@code r^7}, in Horner's order. */
    private static float expm1Taylor(float r) {
        float t = 1f / 720 + r * (1f / 5040);
        t = 1f / 120 + r * t;
        t = 1f / 24 + r * t;
        t = 1f / 6 + r * t;
        t = 1f / 2 + r * t;
        t = 1f + r * t;
        return r * t;
    }
}
