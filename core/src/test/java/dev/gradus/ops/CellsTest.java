package dev.gradus.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CellsTest {
    @Test
    void tanhIsWithinOneUlpOfTheDoublePrecisionOneEverywhere() {
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
        assertTrue(worst <= 1, "Cells.tanh is " + worst + " ulps off at " + worstAt);
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
