package dev.gradus.spark;

import java.io.Serializable;

/**
 * What one worker reports back to the driver: its rank, the epochs it ran in this attempt (first index and the mean
 * loss and seconds of each), the global step it ended at, its mean step time split into all-reduce and the rest,
 * and, from rank 0 only, the trained model as a safetensors file's bytes.
 */
public record WorkerResult(
        int rank,
        int firstEpoch,
        double[] epochLoss,
        double[] epochSeconds,
        long steps,
        double stepMillis,
        double allReduceMillis,
        byte[] model)
        implements Serializable {
    private static final long serialVersionUID = 1L;
}
