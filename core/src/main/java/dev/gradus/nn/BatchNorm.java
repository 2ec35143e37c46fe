package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Functional;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import dev.gradus.spi.Operand;
import dev.gradus.spi.UnaryOp;
import java.util.Arrays;

/**
 * Batch normalisation over axis 1, PyTorch's {@code nn.BatchNorm1d} ({@code [N, F]}) and {@code nn.BatchNorm2d}
 * ({@code [N, C, H, W]}): batch statistics in training mode (running mean and unbiased variance updated with
 * {@code momentum}), running statistics in evaluation mode. Buffers are named as PyTorch names them:
 * {@code running_mean}, {@code running_var} and {@code num_batches_tracked}.
 *
 * <p>{@code new BatchNorm(16)}; {@code BatchNorm.Config.of(16).withMomentum(0.01f)}.
 */
public class BatchNorm extends Module {
    /** Settings; {@link #of} gives PyTorch's eps 1e-5, momentum 0.1, affine. */
    public record Config(int features, float eps, float momentum, boolean affine) {
        public Config {
            // Messages name the value: "this" would print zeros, the fields are not assigned yet.
            if (features < 1) {
                throw new IllegalArgumentException("BatchNorm: features must be >= 1, got " + features);
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("BatchNorm: eps must be > 0, got " + eps);
            }
            if (!(momentum >= 0 && momentum <= 1)) {
                throw new IllegalArgumentException("BatchNorm: momentum must be in [0, 1], got " + momentum);
            }
        }

        public static Config of(int features) {
            return new Config(features, 1e-5f, 0.1f, true);
        }

        public Config withEps(float e) {
            return new Config(features, e, momentum, affine);
        }

        public Config withMomentum(float m) {
            return new Config(features, eps, m, affine);
        }

        public Config withAffine(boolean a) {
            return new Config(features, eps, momentum, a);
        }
    }

    private final Config config;
    private final String name;
    /** The input shape the layer's name stands for, e.g. {@code [N, C, H, W]}, or null for any {@code [N, C, ...]}. */
    private final String expected;

    private final int[] ranks;
    private final Parameter gamma;
    private final Parameter beta;
    /**
     * PyTorch's name for the buffer counting the training batches seen (a scalar, float here, int64 there; PyTorch
     * converts on load). It is not a parameter in Keras' sense, so {@link Module#bufferCount()} leaves it out.
     */
    public static final String NUM_BATCHES_TRACKED = "num_batches_tracked";

    private final Tensor numBatchesTracked;
    private final Tensor runningMean;
    private final Tensor runningVar;

    /** PyTorch defaults for {@code features} channels. */
    public BatchNorm(int features) {
        this(Backends.defaultBackend(), Config.of(features));
    }

    /** {@link #BatchNorm(Backend, Config)} on {@code device}, the user's handle. */
    public BatchNorm(Device device, Config config) {
        this(Backends.of(device), config);
    }

    /** A layer on {@code backend} (SPI level; users pass a Device). */
    public BatchNorm(Backend backend, Config config) {
        this(backend, config, "BatchNorm", null);
    }

    /**
     * For the PyTorch-named subclasses: a layer called {@code name} that takes inputs of the ranks given (e.g. 4 for
     * {@code [N, C, H, W]}), described in messages as {@code expected}.
     */
    protected BatchNorm(Backend backend, Config config, String name, String expected, int... ranks) {
        this.config = config;
        this.name = name;
        this.expected = expected;
        this.ranks = ranks.clone();
        int c = config.features();
        this.gamma = config.affine() ? registerParameter("weight", Tensor.full(backend, 1f, c)) : null;
        this.beta = config.affine() ? registerParameter("bias", Tensor.full(backend, 0f, c)) : null;
        Tensor zeros = Tensor.full(backend, 0f, c);
        Tensor ones = Tensor.full(backend, 1f, c);
        this.runningMean = registerBuffer("running_mean", zeros.persist());
        this.runningVar = registerBuffer("running_var", ones.persist());
        Tensor none = Tensor.full(backend, 0f);
        this.numBatchesTracked = registerBuffer(NUM_BATCHES_TRACKED, none.persist());
        zeros.close();
        ones.close();
        none.close();
    }

    /** The layer's settings. */
    public Config config() {
        return config;
    }

    /** Scale {@code [C]} (PyTorch's {@code weight}), or null when not affine. */
    public Parameter weight() {
        return gamma;
    }

    /** Shift {@code [C]} (PyTorch's {@code bias}), or null when not affine. */
    public Parameter bias() {
        return beta;
    }

    /** Running mean {@code [C]}. */
    public Tensor runningMean() {
        return runningMean;
    }

    /** Training batches seen, as PyTorch's {@code num_batches_tracked} (saved and loaded with the model). */
    public long numBatchesTracked() {
        return (long) numBatchesTracked.item();
    }

    /** Running (unbiased) variance {@code [C]}. */
    public Tensor runningVar() {
        return runningVar;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (ranks.length > 0
                && Arrays.stream(ranks).noneMatch(r -> r == x.shape().rank())) {
            throw new IllegalArgumentException(describe() + ": expected input " + expected + ", got " + x.shape());
        }
        if (x.shape().rank() < 2 || x.shape().dim(1) != config.features()) {
            throw new IllegalArgumentException(
                    describe() + ": expected input [N, " + config.features() + ", ...], got " + x.shape());
        }
        if (isTraining()) {
            // On the backend, not in a Java field: a loaded model's count comes with its buffers, and a GPU need
            // not be waited for. In place, so a training step allocates nothing for it.
            Operand count = numBatchesTracked.operand();
            numBatchesTracked.backend().unary(UnaryOp.ADD_SCALAR, 1f, count, count);
        }
        return traced(Functional.batchNorm(
                x, gamma, beta, runningMean, runningVar, isTraining(), config.momentum(), config.eps()));
    }

    @Override
    public String describe() {
        return name + "(" + config.features() + ")";
    }
}
