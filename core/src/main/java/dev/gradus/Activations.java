package dev.gradus;

import dev.gradus.ops.ActivationOps;

/**
 * The activations that are not on {@link Tensor} itself, with PyTorch's names and defaults
 * ({@code torch.nn.functional}): each calls its op in {@link ActivationOps}, except softplus, composed here from
 * {@link Tensor}'s ops (it has two scalar attributes; its gradient comes from its parts).
 *
 * <p>Shapes: any; the output has the input's shape.
 *
 * <pre>{@code Tensor h = Activations.silu(x);}</pre>
 */
public final class Activations {
    private Activations() {}

    /** {@code x} where positive, else {@code negativeSlope * x} ({@code F.leaky_relu}, slope 0.01 by default). */
    public static Tensor leakyRelu(Tensor x, float negativeSlope) {
        return ActivationOps.LEAKY_RELU.apply(x, negativeSlope);
    }

    /** {@code x * sigmoid(x)}, the swish ({@code F.silu}). */
    public static Tensor silu(Tensor x) {
        return ActivationOps.SILU.apply(x);
    }

    /**
     * {@code log(1 + exp(beta * x)) / beta}, and {@code x} itself where {@code beta * x > threshold}
     * ({@code F.softplus}, beta 1 and threshold 20 by default); written as {@code relu(z) + log(1 + exp(-|z|))}
     * so a large {@code |z|} neither overflows nor loses the value.
     */
    public static Tensor softplus(Tensor x, float beta, float threshold) {
        if (!(beta > 0)) {
            throw new IllegalArgumentException("softplus: beta must be positive, got " + beta);
        }
        Tensor z = x.mul(beta);
        Tensor soft = z.relu().add(z.abs().neg().exp().add(1f).log()).div(beta);
        return Tensor.where(z.gt(threshold), x, soft);
    }

    /**
     * GELU with the tanh approximation ({@code F.gelu(x, approximate='tanh')}):
     * {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}; the exact one is {@link Tensor#gelu()}.
     */
    public static Tensor geluTanh(Tensor x) {
        return ActivationOps.GELU_TANH.apply(x);
    }
}
