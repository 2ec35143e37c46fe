package dev.gradus.testing;

import static dev.gradus.testing.ReferenceBackend.floats;

import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.BatchNormDims;
import dev.gradus.spi.Operand;

/**
 * The reference backend's batch normalisation (training forward and backward) and per-channel affine map, over
 * dense {@code [N, C, rest]} data.
 *
 * <p>Statistics in double, two passes (mean, then the mean squared deviation), as a textbook writes them.
 */
final class ReferenceNorm {
    private ReferenceNorm() {}

    /** Flat index of element {@code j} of image {@code i}'s plane of channel {@code ch}. */
    private static int at(BatchNormDims d, int i, int ch, int j) {
        return (i * d.c() + ch) * d.hw() + j;
    }

    /** The value of an optional per-channel operand, or {@code absent} when it is null. */
    private static double channel(Operand o, int ch, double absent) {
        return o == null ? absent : floats(o.storage())[ch];
    }

    static void batchNormTrain(Operand x, Operand out, BatchNormArgs p) {
        BatchNormDims d = BatchNormDims.of("batchNormTrain", x, p, out);
        float[] xv = floats(x.storage());
        float[] ov = floats(out.storage());
        long m = (long) d.n() * d.hw();
        if (m < 1) {
            throw new IllegalArgumentException("batchNormTrain: no values per channel in " + x.layout());
        }
        for (int ch = 0; ch < d.c(); ch++) {
            double sum = 0;
            for (int i = 0; i < d.n(); i++) {
                for (int j = 0; j < d.hw(); j++) {
                    sum += xv[at(d, i, ch, j)];
                }
            }
            double mean = sum / m;
            double squares = 0;
            for (int i = 0; i < d.n(); i++) {
                for (int j = 0; j < d.hw(); j++) {
                    double dev = xv[at(d, i, ch, j)] - mean;
                    squares += dev * dev;
                }
            }
            double var = squares / m; // biased: what the batch is normalised with
            double invStd = 1 / Math.sqrt(var + p.eps());
            double gamma = channel(p.gamma(), ch, 1);
            double beta = channel(p.beta(), ch, 0);
            for (int i = 0; i < d.n(); i++) {
                for (int j = 0; j < d.hw(); j++) {
                    int k = at(d, i, ch, j);
                    ov[k] = (float) ((xv[k] - mean) * invStd * gamma + beta);
                }
            }
            floats(p.saveMean().storage())[ch] = (float) mean;
            floats(p.saveInvStd().storage())[ch] = (float) invStd;
            if (p.runningMean() != null) {
                // PyTorch keeps the unbiased variance; with one value per channel (which core refuses) the biased one
                double unbiased = m > 1 ? squares / (m - 1) : var;
                float[] rm = floats(p.runningMean().storage());
                float[] rv = floats(p.runningVar().storage());
                rm[ch] = (float) ((1 - p.momentum()) * rm[ch] + p.momentum() * mean);
                rv[ch] = (float) ((1 - p.momentum()) * rv[ch] + p.momentum() * unbiased);
            }
        }
    }

    /**
     * With {@code xhat = (x - mean) * invStd} from the saved statistics: {@code dBeta = sum(dOut)},
     * {@code dGamma = sum(dOut * xhat)}, {@code dx = gamma * invStd * (dOut - dBeta/m - xhat * dGamma/m)}.
     */
    static void batchNormBackward(Operand x, Operand dOut, BatchNormArgs p, Operand dx, Operand dGamma, Operand dBeta) {
        BatchNormDims d = BatchNormDims.of("batchNormBackward", x, p, dOut, dx, dGamma, dBeta);
        float[] xv = floats(x.storage());
        float[] dv = floats(dOut.storage());
        float[] dxv = floats(dx.storage());
        long m = (long) d.n() * d.hw();
        for (int ch = 0; ch < d.c(); ch++) {
            double mean = floats(p.saveMean().storage())[ch];
            double invStd = floats(p.saveInvStd().storage())[ch];
            double sumD = 0;
            double sumDXhat = 0;
            for (int i = 0; i < d.n(); i++) {
                for (int j = 0; j < d.hw(); j++) {
                    int k = at(d, i, ch, j);
                    sumD += dv[k];
                    sumDXhat += dv[k] * (xv[k] - mean) * invStd;
                }
            }
            double gamma = channel(p.gamma(), ch, 1);
            for (int i = 0; i < d.n(); i++) {
                for (int j = 0; j < d.hw(); j++) {
                    int k = at(d, i, ch, j);
                    double xhat = (xv[k] - mean) * invStd;
                    dxv[k] = (float) (gamma * invStd * (dv[k] - sumD / m - xhat * sumDXhat / m));
                }
            }
            if (dGamma != null) {
                floats(dGamma.storage())[ch] = (float) sumDXhat;
            }
            if (dBeta != null) {
                floats(dBeta.storage())[ch] = (float) sumD;
            }
        }
    }

    /** {@code out[n, c, j] = x[n, c, j] * scale[c] + shift[c]}. */
    static void channelAffine(Operand x, Operand scale, Operand shift, Operand out) {
        BatchNormDims d = BatchNormDims.of("channelAffine", x, scale, shift, out);
        float[] xv = floats(x.storage());
        float[] ov = floats(out.storage());
        float[] sv = floats(scale.storage());
        float[] tv = floats(shift.storage());
        for (int i = 0; i < d.n(); i++) {
            for (int ch = 0; ch < d.c(); ch++) {
                for (int j = 0; j < d.hw(); j++) {
                    int k = at(d, i, ch, j);
                    ov[k] = (float) ((double) xv[k] * sv[ch] + tv[ch]);
                }
            }
        }
    }
}
