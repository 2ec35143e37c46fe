package dev.gradus.nn;

import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Tensor;

/**
 * Inverted dropout, PyTorch's {@code nn.Dropout}: in training zeroes each element with probability {@code p} and
 * scales the rest by {@code 1/(1-p)}; identity in evaluation. The mask comes from a seeded {@link Rng}.
 *
 * <p>Shapes: any. {@code new Dropout(0.2f, new Rng(1))}
 */
public class Dropout extends Module {
    private final float p;
    private final Rng rng;

    /** Drops with probability {@code p}, its masks seeded from the process-wide stream ({@link Rng#manualSeed}). */
    public Dropout(float p) {
        this(p, Rng.fromGlobal());
    }

    /** Drops with probability {@code p}, drawing from {@code rng}. */
    public Dropout(float p, Rng rng) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("Dropout: probability must be in [0, 1), got " + p);
        }
        this.p = p;
        this.rng = rng;
    }

    @Override
    public Tensor forward(Tensor x) {
        return traced(Functional.dropout(x, p, isTraining(), rng));
    }

    @Override
    public String describe() {
        return "Dropout(" + p + ")";
    }
}
