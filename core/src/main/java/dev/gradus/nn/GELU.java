package dev.gradus.nn;

import dev.gradus.Activations;
import dev.gradus.ops.GeluExact;

/**
 * Gaussian error linear unit, exact ({@code x * Phi(x)}) or with the tanh approximation, as PyTorch's
 * {@code nn.GELU(approximate='none' | 'tanh')}.
 *
 * <p>Shapes: any; output shape = input shape. {@code new GELU()}, {@code new GELU("tanh")}
 */
public final class GELU extends Activation {
    private final String approximate;

    /** The exact GELU. */
    public GELU() {
        this("none");
    }

    /** {@code approximate} is {@code "none"} (exact, from erf) or {@code "tanh"}. */
    public GELU(String approximate) {
        super(
                "none".equals(approximate) ? "GELU" : "GELU(approximate='" + approximate + "')",
                switch (approximate) {
                    case "none" -> x -> GeluExact.GELU.apply(x);
                    case "tanh" -> Activations::geluTanh;
                    default ->
                        throw new IllegalArgumentException(
                                "GELU: approximate must be 'none' or 'tanh', got '" + approximate + "'");
                });
        this.approximate = approximate;
    }

    /** {@code "none"} (exact) or {@code "tanh"}. */
    public String approximate() {
        return approximate;
    }
}
