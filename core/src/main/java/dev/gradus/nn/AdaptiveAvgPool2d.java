package dev.gradus.nn;

import dev.gradus.Functional;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.PoolParams;
import java.util.ArrayList;
import java.util.List;

/**
 * Average pooling to a fixed output size, PyTorch's {@code nn.AdaptiveAvgPool2d}: output row {@code i} of
 * {@code outH} averages input rows {@code floor(i*H/outH)} to {@code ceil((i+1)*H/outH)} (excluded), columns alike.
 *
 * <p>Shapes: {@code [N, C, H, W] -> [N, C, outH, outW]}, or {@code [C, H, W] -> [C, outH, outW]}. Where the sizes
 * divide evenly this is {@link AvgPool2d} with kernel and stride {@code H/outH x W/outW}; otherwise each bin's mean
 * of its rows, then of its columns (the gradients follow from either; infinities and NaNs stay in their bins).
 *
 * <p>{@code new AdaptiveAvgPool2d(7)}: {@code [N, 512, 14, 14] -> [N, 512, 7, 7]}
 */
public class AdaptiveAvgPool2d extends Module {
    private final int outH;
    private final int outW;

    /** A square output, {@code size x size}. */
    public AdaptiveAvgPool2d(int size) {
        this(size, size);
    }

    /** An {@code outH x outW} output. */
    public AdaptiveAvgPool2d(int outH, int outW) {
        if (outH < 1 || outW < 1) {
            throw new IllegalArgumentException(
                    "AdaptiveAvgPool2d: output size " + outH + "x" + outW + " must be at least 1x1");
        }
        this.outH = outH;
        this.outW = outW;
    }

    /** The output height. */
    public int outH() {
        return outH;
    }

    /** The output width. */
    public int outW() {
        return outW;
    }

    @Override
    public Tensor forward(Tensor x) {
        Shape s = requireRank(x.requireOpen("AdaptiveAvgPool2d").shape());
        int h = s.dim(-2);
        int w = s.dim(-1);
        if (h == 0 || w == 0) {
            throw new IllegalArgumentException("AdaptiveAvgPool2d: input " + s + " has an empty plane");
        }
        if (s.rank() == 4 && h % outH == 0 && w % outW == 0) {
            int kh = h / outH;
            int kw = w / outW;
            return traced(Functional.avgPool2d(x, new PoolParams(kh, kw, kh, kw, 0, 0)));
        }
        // Each bin's mean of its own elements: an infinity or a NaN stays in the bins that hold it (a product with
        // an averaging matrix would spread it to every bin of its row and column through 0 * inf).
        int rows = s.rank() - 2;
        return traced(binMeans(binMeans(x, rows, outH), rows + 1, outW));
    }

    /** {@code x} with axis {@code axis} averaged into PyTorch's {@code out} bins, each a narrow and a mean. */
    private static Tensor binMeans(Tensor x, int axis, int out) {
        int in = x.shape().dim(axis);
        if (in == out) {
            return x;
        }
        List<Tensor> bins = new ArrayList<>(out);
        for (int i = 0; i < out; i++) {
            int start = (int) ((long) i * in / out);
            int end = (int) (((long) (i + 1) * in + out - 1) / out);
            bins.add(x.narrow(axis, start, end - start).mean(axis, true));
        }
        return Functional.cat(bins, axis);
    }

    private static Shape requireRank(Shape s) {
        if (s.rank() != 3 && s.rank() != 4) {
            throw new IllegalArgumentException("AdaptiveAvgPool2d: expected [N, C, H, W] or [C, H, W], got " + s);
        }
        return s;
    }

    @Override
    public Shape outputShape(Shape in) {
        int[] d = requireRank(in).dims();
        d[d.length - 2] = outH;
        d[d.length - 1] = outW;
        return Shape.of(d);
    }

    @Override
    public String describe() {
        return "AdaptiveAvgPool2d(" + (outH == outW ? Integer.toString(outH) : outH + ", " + outW) + ")";
    }
}
