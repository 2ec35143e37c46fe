package dev.gradus.backend.cuda;

import dev.gradus.spi.Layout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Packs a {@link Layout} into the bytes of the kernels' {@code struct Layout} ({@code common.cuh}), passed by
 * value as a kernel argument: {@code int rank; long long offset; int shape[8]; long long strides[8];}.
 *
 * <pre>{@code ByteBuffer arg = KernelLayout.pack(layout);}</pre>
 */
final class KernelLayout {
    static final int MAX_RANK = 8;
    static final int OFFSET_OF_RANK = 0;
    static final int OFFSET_OF_OFFSET = 8;
    static final int OFFSET_OF_SHAPE = 16;
    static final int OFFSET_OF_STRIDES = 48;
    static final int BYTES = 112;

    private KernelLayout() {}

    /** The struct's bytes, little-endian as on every CUDA host. */
    static ByteBuffer pack(Layout l) {
        ByteBuffer b = ByteBuffer.allocateDirect(BYTES).order(ByteOrder.LITTLE_ENDIAN);
        packInto(l, b, 0);
        return b;
    }

    /** Writes the struct into {@code b} (little-endian) at byte {@code at}, unused dimensions zeroed. */
    static void packInto(Layout l, ByteBuffer b, int at) {
        if (l.rank() > MAX_RANK) {
            throw new IllegalArgumentException("cuda: rank " + l.rank() + " of " + Arrays.toString(l.shape())
                    + " is above the kernels' maximum of " + MAX_RANK);
        }
        b.putInt(at + OFFSET_OF_RANK, l.rank());
        b.putInt(at + OFFSET_OF_RANK + 4, 0);
        b.putLong(at + OFFSET_OF_OFFSET, l.offset());
        for (int d = 0; d < MAX_RANK; d++) {
            boolean used = d < l.rank();
            b.putInt(at + OFFSET_OF_SHAPE + 4 * d, used ? l.shape()[d] : 0);
            b.putLong(at + OFFSET_OF_STRIDES + 8 * d, used ? l.strides()[d] : 0);
        }
    }
}
