package dev.gradus;

import dev.gradus.spi.Backend;
import java.util.Arrays;

/**
 * Scaled dot-product attention and its masks, composed from {@link Tensor}'s ops, as PyTorch's
 * {@code F.scaled_dot_product_attention}: {@code softmax(q k^T / sqrt(E) + mask) v}.
 *
 * <p>Shapes: {@code q [..., L, E]}, {@code k [..., S, E]}, {@code v [..., S, Ev]}, an additive float {@code mask}
 * broadcastable to {@code [..., L, S]} (0 where a query may look, {@code -inf} where not); the result is
 * {@code [..., L, Ev]}.
 *
 * <pre>{@code Tensor out = Attention.scaledDotProductAttention(q, k, v, Attention.causalMask(q.backend(), 16, 16));}</pre>
 */
public final class Attention {
    private Attention() {}

    /** {@code softmax(q k^T / sqrt(E) + mask) v}; {@code mask} may be null. */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor mask) {
        return scaledDotProductAttention(q, k, v, mask, 0f, false, null);
    }

    /**
     * As above, with dropout of probability {@code dropoutP} on the attention weights when {@code training}
     * (PyTorch's {@code dropout_p}; {@code rng} draws the mask).
     */
    public static Tensor scaledDotProductAttention(
            Tensor q, Tensor k, Tensor v, Tensor mask, float dropoutP, boolean training, Rng rng) {
        Shape qs = q.shape();
        Shape ks = k.shape();
        Shape vs = v.shape();
        if (qs.rank() < 2 || ks.rank() < 2 || vs.rank() < 2 || qs.dim(-1) != ks.dim(-1) || ks.dim(-2) != vs.dim(-2)) {
            throw new IllegalArgumentException("scaledDotProductAttention: q " + qs + ", k " + ks + ", v " + vs
                    + " must be [..., L, E], [..., S, E], [..., S, Ev]");
        }
        Tensor scores = q.matmul(k.transpose(-2, -1)).mul((float) (1 / Math.sqrt(qs.dim(-1))));
        if (mask != null) {
            scores = scores.add(mask);
        }
        Tensor weights = scores.softmax(-1);
        if (dropoutP > 0 && training) {
            weights = Functional.dropout(weights, dropoutP, true, rng);
        }
        return weights.matmul(v);
    }

    /** {@code [L, S]}: 0 where key {@code j <= i} (a query sees itself and the past), {@code -inf} after. */
    public static Tensor causalMask(Backend backend, int queries, int keys) {
        float[] m = new float[Math.multiplyExact(queries, keys)];
        for (int i = 0; i < queries; i++) {
            Arrays.fill(m, i * keys + i + 1, (i + 1) * keys, Float.NEGATIVE_INFINITY);
        }
        return Tensor.of(backend, m, queries, keys);
    }

    /**
     * An additive mask {@code [N, 1, 1, S]} from a key-padding mask {@code [N, S]} whose non-zero entries mark keys to
     * ignore (PyTorch's {@code key_padding_mask}).
     */
    public static Tensor keyPaddingMask(Tensor padding) {
        if (padding.shape().rank() != 2) {
            throw new IllegalArgumentException("keyPaddingMask: expected [N, S], got " + padding.shape());
        }
        float[] p = padding.toFloat().toFloatArray();
        float[] m = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            m[i] = p[i] != 0 ? Float.NEGATIVE_INFINITY : 0f;
        }
        return Tensor.of(
                padding.backend(),
                m,
                padding.shape().dim(0),
                1,
                1,
                padding.shape().dim(1));
    }
}
