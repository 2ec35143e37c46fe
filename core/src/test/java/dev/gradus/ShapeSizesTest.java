package dev.gradus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.spi.ConvParams;
import dev.gradus.spi.PoolParams;
import org.junit.jupiter.api.Test;

/** Element counts and output sizes in exact arithmetic: a size that overflows is refused by name, never wrapped. */
class ShapeSizesTest {
    private static void assertRefused(String shape, Runnable make) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, make::run);
        assertTrue(e.getMessage().contains(shape) && !e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void elementCountsThatOverflowAreRefused() {
        // 2^64 - 1 in a long: wrapped to -1 before
        assertRefused("[65535, 65537, 641, 6700417]", () -> Shape.of(65535, 65537, 641, 6700417));
        // wraps (mod 2^64) to 2^20 elements, a plausible 4 MB tensor
        assertRefused(
                "[1048576, 4194304, 4194304, 1048576, 1048576]",
                () -> Shape.of(1 << 20, 1 << 22, 1 << 22, 1 << 20, 1 << 20));
        assertRefused("[200000, 200000]", () -> Shape.of(200000, 200000));
        assertEquals(0, Shape.of(0, 1 << 30, 1 << 30, 1 << 30).numel(), "a zero dimension makes any shape empty");
        assertRefused(
                "[2147483647, 2, 1073741824", () -> Shape.of(3, 4).reshape(Integer.MAX_VALUE, 2, 1 << 30, 1 << 30, -1));
    }

    @Test
    void emptyShapesHaveStridesAndReshape() {
        Shape s = Shape.of(0, 3, 4);
        assertEquals(0, s.numel());
        assertEquals(3, s.contiguousStrides().length);
        assertEquals(Shape.of(0, 12), s.reshape(0, 12));
    }

    @Test
    void outputSizesDoNotWrap() {
        ConvParams p = new ConvParams(1_000_000_000, 1_000_000_000, 0, 0, 1_500_000_000, 1_500_000_000, 1);
        assertTrue(p.outH(5, 3) < 1, "dilation 1.5e9 on 5 rows leaves no output, got " + p.outH(5, 3));
        assertTrue(new ConvParams(1, 1, 0, 0, Integer.MAX_VALUE, 1, 1).outH(5, 3) < 1);
        assertEquals(Integer.MAX_VALUE, new ConvParams(1, 1, Integer.MAX_VALUE, 0, 1, 1, 1).outH(5, 3));
        assertEquals(3, new ConvParams(1, 1, 0, 0, 1, 1, 1).outH(5, 3));
        assertEquals(2, new PoolParams(2, 2, 2, 2, 0, 0).outH(5));
    }
}
