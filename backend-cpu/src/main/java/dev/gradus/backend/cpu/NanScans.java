package dev.gradus.backend.cpu;

import static dev.gradus.backend.cpu.Scratch.TILE;

import java.nio.IntBuffer;

/**
 * Scans of a whole storage for NaN and infinity, which decide whether oneDNN may run an op: its fused ReLU and
 * its max pooling drop NaN, the Java kernels keep it.
 */
final class NanScans {
    private NanScans() {}

    /**
     * Whether {@code s} (all of its buffer, whatever layout) holds a NaN or an infinity: the largest magnitude's
     * bits, an int max reduction over tiles (one read of the buffer).
     */
    static boolean nonFinite(CpuStorage s) {
        return s != null && maxMagnitudeBits(s) >= 0x7f800000;
    }

    /** True when {@code s} is null, known finite, or scanned and found free of NaN and infinity. */
    static boolean finite(CpuStorage s) {
        return s == null || s.knownFinite() || !nonFinite(s);
    }

    /** {@link #finite(CpuStorage)} of plain contents (null: true). */
    static boolean finite(CpuStorage.Plain p) {
        return p == null || finite(p.storage);
    }

    /** Whether {@code s} holds a NaN (anywhere in its buffer). */
    static boolean hasNaN(CpuStorage s) {
        return maxMagnitudeBits(s) > 0x7f800000;
    }

    private static int maxMagnitudeBits(CpuStorage s) {
        // Blocked contents are held so another thread's conversion to plain cannot move a value past the scan.
        try (CpuStorage.BlockedReads held = CpuStorage.readBlocked(s)) {
            return maxMagnitudeBits(s.bitsHeld(held));
        }
    }

    private static int maxMagnitudeBits(IntBuffer bits) {
        int n = bits.limit();
        int[] tile = Scratch.get().idx;
        int m = 0;
        for (int t = 0; t < n; t += TILE) {
            int len = Math.min(TILE, n - t);
            bits.get(t, tile, 0, len);
            for (int k = 0; k < len; k++) {
                m = Math.max(m, tile[k] & 0x7fffffff);
            }
        }
        return m;
    }
}
