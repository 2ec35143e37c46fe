package dev.gradus.conformance;

/** Parameter counts published with the notebooks our examples reproduce. */
final class SummaryCounts {
    private SummaryCounts() {}

    /** Keras notebook 784-20-10. */
    static final long KERAS_784_20_10 = 15_910;
    /** Keras notebook 784-50-50-10. */
    static final long KERAS_784_50_50_10 = 42_310;
    /** Flux notebook 784-48-10. */
    static final long FLUX_784_48_10 = 38_170;
}
