package dev.gradus;

/**
 * Loss functions with PyTorch's names, formulas and defaults ({@code torch.nn.functional}), composed from
 * {@link Tensor}'s ops, each the mean over its elements (or rows) unless said otherwise; softmax cross-entropy and
 * MSE are in {@link Functional}.
 *
 * <p>Shapes: {@code input} and {@code target} of one shape, except where a method says {@code [N, C]} scores and
 * {@code [N]} INT32 labels. The result is a scalar.
 *
 * <pre>{@code Tensor loss = Losses.binaryCrossEntropyWithLogits(model.forward(x), y, null);}</pre>
 */
public final class Losses {
    private Losses() {}

    /** PyTorch's default {@code ignore_index}: labels equal to it count for nothing. */
    public static final int IGNORE_INDEX = -100;

    /**
     * Binary cross-entropy on logits ({@code F.binary_cross_entropy_with_logits}): {@code -[w y log s(x) + (1 - y)
     * log(1 - s(x))]} with {@code w = posWeight} (broadcast over the last axis; null for 1), computed as
     * {@code (1 - y) x + (1 + (w - 1) y) (log(1 + exp(-|x|)) + max(-x, 0))} so no logit overflows.
     */
    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor posWeight) {
        sameShape("binaryCrossEntropyWithLogits", input, target);
        Tensor logSigmoidNeg =
                input.abs().neg().exp().add(1f).log().add(input.neg().relu()); // -log s(x)
        Tensor weight = posWeight == null ? null : posWeight.sub(1f).mul(target).add(1f);
        Tensor positive = weight == null ? logSigmoidNeg : weight.mul(logSigmoidNeg);
        return target.rsub(1f).mul(input).add(positive).mean();
    }

    /** Mean absolute error {@code mean(|input - target|)} ({@code F.l1_loss}). */
    public static Tensor l1Loss(Tensor input, Tensor target) {
        sameShape("l1Loss", input, target);
        return input.sub(target).abs().mean();
    }

    /**
     * Smooth L1 ({@code F.smooth_l1_loss}): {@code 0.5 d^2 / beta} where {@code |d| < beta}, else
     * {@code |d| - 0.5 beta}, with {@code d = input - target}; beta 1 by default.
     */
    public static Tensor smoothL1Loss(Tensor input, Tensor target, float beta) {
        sameShape("smoothL1Loss", input, target);
        if (!(beta >= 0)) {
            throw new IllegalArgumentException("smoothL1Loss: beta must not be negative, got " + beta);
        }
        Tensor d = input.sub(target);
        if (beta == 0) {
            return d.abs().mean();
        }
        Tensor a = d.abs();
        return Tensor.where(a.lt(beta), d.pow(2f).mul(0.5f / beta), a.sub(0.5f * beta))
                .mean();
    }

    /**
     * Huber ({@code F.huber_loss}): {@code 0.5 d^2} where {@code |d| <= delta}, else {@code delta (|d| - 0.5 delta)};
     * delta 1 by default (then equal to smooth L1 with beta 1).
     */
    public static Tensor huberLoss(Tensor input, Tensor target, float delta) {
        sameShape("huberLoss", input, target);
        if (!(delta > 0)) {
            throw new IllegalArgumentException("huberLoss: delta must be positive, got " + delta);
        }
        Tensor d = input.sub(target);
        Tensor a = d.abs();
        return Tensor.where(
                        a.le(delta), d.pow(2f).mul(0.5f), a.sub(0.5f * delta).mul(delta))
                .mean();
    }

    /**
     * Negative log-likelihood of log-probabilities {@code [N, C]} at INT32 labels {@code [N]} ({@code F.nll_loss}):
     * the mean of {@code -input[i, label_i]} over the rows whose label is not {@code ignoreIndex}.
     */
    public static Tensor nllLoss(Tensor input, Tensor labels, int ignoreIndex) {
        return smoothedNll("nllLoss", input, labels, 0f, ignoreIndex);
    }

    /**
     * Softmax cross-entropy with PyTorch's {@code label_smoothing} and {@code ignore_index}
     * ({@code F.cross_entropy(logits, labels, label_smoothing=e, ignore_index=i)}): each kept row's target is
     * {@code (1 - e)} on its label plus {@code e / C} on every class; the mean is over kept rows.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor labels, float labelSmoothing, int ignoreIndex) {
        if (logits.shape().rank() != 2) {
            throw new IllegalArgumentException("crossEntropy: logits must be [N, C], got " + logits.shape());
        }
        return smoothedNll("crossEntropy", logits.logSoftmax(1), labels, labelSmoothing, ignoreIndex);
    }

    /**
     * Kullback-Leibler divergence of {@code target} probabilities from {@code input} log-probabilities
     * ({@code F.kl_div}): {@code target (log target - input)}, 0 where the target is 0, reduced by
     * {@code "batchmean"} (sum / rows: the mathematical KL divergence, PyTorch's advice), {@code "sum"} or
     * {@code "mean"} (over elements, PyTorch's default).
     */
    public static Tensor klDiv(Tensor input, Tensor target, String reduction) {
        sameShape("klDiv", input, target);
        Tensor safeLog =
                Tensor.where(target.gt(0f), target, target.mul(0f).add(1f)).log();
        Tensor pointwise = target.mul(safeLog.sub(input));
        return switch (reduction) {
            case "batchmean" ->
                pointwise
                        .sum()
                        .div(input.shape().rank() == 0 ? 1 : input.shape().dim(0));
            case "sum" -> pointwise.sum();
            case "mean" -> pointwise.mean();
            default ->
                throw new IllegalArgumentException(
                        "klDiv: reduction must be batchmean, sum or mean, got '" + reduction + "'");
        };
    }

    /** The mean over kept rows of {@code -sum_c t_c input_c}, with the smoothed one-hot target {@code t}. */
    private static Tensor smoothedNll(String op, Tensor logProbs, Tensor labels, float smoothing, int ignoreIndex) {
        if (logProbs.shape().rank() != 2) {
            throw new IllegalArgumentException(op + ": input must be [N, C], got " + logProbs.shape());
        }
        if (labels.dtype() != DType.INT32) {
            throw new IllegalArgumentException(op + ": labels must be INT32 class indices, got " + labels.dtype());
        }
        int n = logProbs.shape().dim(0);
        int c = logProbs.shape().dim(1);
        if (labels.shape().rank() != 1 || labels.shape().dim(0) != n) {
            throw new IllegalArgumentException(
                    op + ": input " + logProbs.shape() + " needs labels [" + n + "], got " + labels.shape());
        }
        if (!(smoothing >= 0 && smoothing <= 1)) {
            throw new IllegalArgumentException(op + ": label smoothing must be in [0, 1], got " + smoothing);
        }
        int[] y = labels.toIntArray();
        float[] t = new float[Math.multiplyExact(n, c)];
        int kept = 0;
        for (int i = 0; i < n; i++) {
            if (y[i] == ignoreIndex) {
                continue;
            }
            if (y[i] < 0 || y[i] >= c) {
                throw new IllegalArgumentException(
                        op + ": label " + y[i] + " at row " + i + " is outside [0, " + c + ") " + logProbs.shape());
            }
            kept++;
            for (int k = 0; k < c; k++) {
                t[i * c + k] = smoothing / c;
            }
            t[i * c + y[i]] += 1 - smoothing;
        }
        Tensor target = Tensor.of(logProbs.backend(), t, n, c);
        // Every row ignored: PyTorch returns NaN (0 / 0), and so does this.
        return logProbs.mul(target).sum().neg().div(kept);
    }

    private static void sameShape(String op, Tensor input, Tensor target) {
        if (!input.shape().equals(target.shape())) {
            throw new IllegalArgumentException(
                    op + ": input " + input.shape() + " and target " + target.shape() + " must have one shape");
        }
    }
}
