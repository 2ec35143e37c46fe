package dev.gradus.optim;

/**
 * Cosine annealing from the base rate to {@code etaMin} over {@code tMax} epochs, PyTorch's closed form:
 * {@code etaMin + (base - etaMin) * (1 + cos(pi * t / tMax)) / 2}.
 *
 * <p>{@code new CosineAnnealingLR(opt, 10, 0f)}
 */
public final class CosineAnnealingLR extends LRScheduler {
    private final int tMax;
    private final float etaMin;

    /** A schedule over {@code opt} from its current rate. */
    public CosineAnnealingLR(Optimizer opt, int tMax, float etaMin) {
        super(opt);
        if (tMax < 1 || !(etaMin >= 0)) {
            throw new IllegalArgumentException(
                    "CosineAnnealingLR: tMax must be >= 1 and etaMin >= 0, got " + tMax + ", " + etaMin);
        }
        this.tMax = tMax;
        this.etaMin = etaMin;
    }

    @Override
    public double lrAt(int t) {
        return etaMin + (base - etaMin) * (1 + Math.cos(Math.PI * t / tMax)) / 2;
    }
}
