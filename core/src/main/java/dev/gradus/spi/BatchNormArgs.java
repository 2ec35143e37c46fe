package dev.gradus.spi;

/**
 * Batch norm's per-channel operands and settings, for backends: the affine parameters and running statistics (each
 * null for none), the mean and {@code 1/sqrt(var + eps)} that training saves for the backward pass, and
 * {@code eps} and {@code momentum}. Every operand is {@code [C]}.
 *
 * <p>{@code new BatchNormArgs(gamma, beta, runningMean, runningVar, saveMean, saveInvStd, 1e-5f, 0.1f)}; the
 * backward pass reads only {@code gamma}, {@code saveMean} and {@code saveInvStd}.
 */
public record BatchNormArgs(
        Operand gamma,
        Operand beta,
        Operand runningMean,
        Operand runningVar,
        Operand saveMean,
        Operand saveInvStd,
        float eps,
        float momentum) {
    /** The operands, nulls included, in declaration order (for density checks). */
    public Operand[] operands() {
        return new Operand[] {gamma, beta, runningMean, runningVar, saveMean, saveInvStd};
    }
}
