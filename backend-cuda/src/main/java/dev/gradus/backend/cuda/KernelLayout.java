package dev.gradus.backend.cuda;

import dev.gradus.spi.Layout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Packs a {@link Layout} into the bytes of the kernels' {@code struct Layout} ({@code common.cuh}), passed by
 * value as a kernel argument: {@code int rank; long long offset; int shape[8]; long long strides[8];}.
 *
 * <pre>{@code ByteBuffer arg = KernelLayout.pack(KernelLayout.broadcast(bLayout, outShape));}</pre>
 */
final class KernelLayout {
    static final int MAX_RANK = 8;
    static final int OFFSET_OF_RANK = 0;
    static final int OFFSET_OF_OFFSET = 8;
    static final int OFFSET_OF_SHAPE = 16;
    static final int OFFSET_OF_STRIDES = 48;
    static final int BYTES = 112;

    private KernelLayout() {
    }

    /** The struct's bytes, little-endian as on every CUDA host. */
    static ByteBuffer pack(Layout l) {
        if (l.rank() > MAX_RANK) {
            throw new IllegalArgumentException("cuda: rank " + l.rank() + " of " + Arrays.toString(l.shape())
                    + " is above the kernels' maximum of " + MAX_RANK);
        }
        ByteBuffer b = ByteBuffer.allocateDirect(BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(OFFSET_OF_RANK, l.rank());
        b.putLong(OFFSET_OF_OFFSET, l.offset());
        for (int d = 0; d < l.rank(); d++) {
            b.putInt(OFFSET_OF_SHAPE + 4 * d, l.shape()[d]);
            b.putLong(OFFSET_OF_STRIDES + 8 * d, l.strides()[d]);
        }
        return b;
    }

    /**
     * {@code in} seen with {@code outShape}'s rank: leading dimensions added and size-1 dimensions stretched, both
     * with stride 0, so a kernel indexes it with the output's flat index.
     *
     * @throws IllegalArgumentException if {@code in} does not broadcast to {@code outShape}
     */
    static Layout broadcast(Layout in, int[] outShape) {
        int r = outShape.length;
        int lead = r - in.rank();
        if (lead < 0) {
            throw new IllegalArgumentException("cuda: " + Arrays.toString(in.shape()) + " does not broadcast to "
                    + Arrays.toString(outShape));
        }
        int[] strides = new int[r];
        for (int d = 0; d < in.rank(); d++) {
            int size = in.shape()[d];
            if (size == outShape[lead + d]) {
                strides[lead + d] = in.strides()[d];
            } else if (size == 1) {
                strides[lead + d] = 0;
            } else {
                throw new IllegalArgumentException("cuda: " + Arrays.toString(in.shape()) + " does not broadcast to "
                        + Arrays.toString(outShape));
            }
        }
        return new Layout(outShape.clone(), strides, in.offset());
    }
}
