package dev.gradus.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CellsTest {
    @Test
    void tanhIsWithinTwoUlpsOfTheDoublePrecisionOneEverywhere() {
        // Every 97th float from 2^-30 to 20 and its negative: the linear range, the exp formula, the saturation.
        int worst = 0;
        float worstAt = 0;
        for (int bits = Float.floatToIntBits(0x1p-30f); bits <= Float.floatToIntBits(20f); bits += 97) {
            for (float v : new float[] {Float.intBitsToFloat(bits), -Float.intBitsToFloat(bits)}) {
                float want = (float) Math.tanh(v);
                int ulps = Math.abs(Float.floatToIntBits(Cells.tanh(v)) - Float.floatToIntBits(want));
                if (ulps > worst) {
                    worst = ulps;
                    worstAt = v;
                }
            }
        }
        assertTrue(worst <= 2, "Cells.tanh is " + worst + " ulps off at " + worstAt);
    }

    @Test
    void sigmoidIsWithinTwoUlpsAndExpWithinOneOfTheDoublePrecisionOnes() {
        int worstSigmoid = 0;
        int worstExp = 0;
        for (int bits = Float.floatToIntBits(0x1p-30f); bits <= Float.floatToIntBits(80f); bits += 97) {
            float x = Float.intBitsToFloat(bits);
            for (float v : new float[] {x, -x}) {
                float want = (float) (1 / (1 + Math.exp(-(double) v)));
                worstSigmoid = Math.max(
                        worstSigmoid, Math.abs(Float.floatToIntBits(Cells.sigmoid(v)) - Float.floatToIntBits(want)));
            }
            int ulps = Math.abs(Float.floatToIntBits(Cells.expOfNegative(-x))
                    - Float.floatToIntBits((float) Math.exp(-(double) x)));
            worstExp = Math.max(worstExp, ulps);
        }
        assertTrue(worstSigmoid <= 2, "Cells.sigmoid is " + worstSigmoid + " ulps off");
        assertTrue(worstExp <= 1, "Cells.expOfNegative is " + worstExp + " ulps off");
        assertEquals(1f, Cells.sigmoid(200f));
        assertTrue(Cells.sigmoid(-200f) < 2e-38f);
        assertEquals(0.5f, Cells.sigmoid(0f));
        assertTrue(Float.isNaN(Cells.sigmoid(Float.NaN)));
        assertEquals(1f, Cells.expOfNegative(0f));
        assertEquals(1f, Cells.expOfNegative(-0f));
    }

    @Test
    void tanhKeepsTheSpecialValues() {
        assertEquals(0f, Cells.tanh(0f));
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(Cells.tanh(-0f)));
        assertEquals(1f, Cells.tanh(Float.POSITIVE_INFINITY));
        assertEquals(-1f, Cells.tanh(Float.NEGATIVE_INFINITY));
        assertEquals(-1f, Cells.tanh(-400f));
        assertTrue(Float.isNaN(Cells.tanh(Float.NaN)));
        assertEquals(Float.MIN_VALUE, Cells.tanh(Float.MIN_VALUE));
    }
}
