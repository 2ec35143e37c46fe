package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.ops.LayerNormRows;
import dev.gradus.spi.Backend;
import java.util.Arrays;

/**
 * Normalises each example over its last dimensions to mean 0 and variance 1, then scales and shifts per element,
 * as PyTorch's {@code nn.LayerNorm}: {@code (x - mean) / sqrt(var + eps) * weight + bias}, the variance biased.
 *
 * <p>Shapes: {@code x [..., *normalizedShape]}; {@code weight} and {@code bias} {@code normalizedShape} (ones and
 * zeros at first); output = input shape.
 *
 * <pre>{@code LayerNorm norm = new LayerNorm(64);   // over the last axis of [N, T, 64]}</pre>
 */
public class LayerNorm extends Module {
    /** PyTorch's settings: {@code normalizedShape}, {@code eps}, and whether there are a weight and a bias. */
    public record Config(int[] normalizedShape, float eps, boolean elementwiseAffine) {
        public Config {
            if (normalizedShape.length == 0 || Arrays.stream(normalizedShape).anyMatch(d -> d <= 0)) {
                throw new IllegalArgumentException(
                        "LayerNorm: normalized shape must be positive sizes, got " + Arrays.toString(normalizedShape));
            }
            normalizedShape = normalizedShape.clone();
            if (!(eps > 0)) {
                throw new IllegalArgumentException("LayerNorm: eps must be positive, got " + eps);
            }
        }

        /** Over the last {@code normalizedShape.length} axes, eps 1e-5, with a weight and a bias. */
        public static Config of(int... normalizedShape) {
            return new Config(normalizedShape, 1e-5f, true);
        }

        /** Another eps. */
        public Config withEps(float e) {
            return new Config(normalizedShape, e, elementwiseAffine);
        }

        /** Without weight and bias. */
        public Config withoutAffine() {
            return new Config(normalizedShape, eps, false);
        }
    }

    private final Config config;
    private final int size;
    private final Parameter weight;
    private final Parameter bias;

    /** Over the last axis of size {@code features}, on the default backend. */
    public LayerNorm(int features) {
        this(Backends.defaultBackend(), Config.of(features));
    }

    /** The layer on {@code backend}. */
    public LayerNorm(Backend backend, Config config) {
        this.config = config;
        this.size = Shape.of(config.normalizedShape()).numel();
        if (config.elementwiseAffine()) {
            weight = registerParameter("weight", Tensor.full(backend, 1f, config.normalizedShape()));
            bias = registerParameter("bias", Tensor.full(backend, 0f, config.normalizedShape()));
        } else {
            weight = null;
            bias = null;
        }
    }

    /** The settings. */
    public Config config() {
        return config;
    }

    /** The weight (or null without affine). */
    public Parameter weight() {
        return weight;
    }

    /** The bias (or null without affine). */
    public Parameter bias() {
        return bias;
    }

    @Override
    public Tensor forward(Tensor x) {
        int[] norm = config.normalizedShape();
        Shape s = x.shape();
        int lead = s.rank() - norm.length;
        if (lead < 0 || !Arrays.equals(Arrays.copyOfRange(s.dims(), lead, s.rank()), norm)) {
            throw new IllegalArgumentException(describe() + ": expected input [..., " + joined(norm) + "], got " + s);
        }
        // One fused kernel over the rows (LayerNormRows), instead of 7 tensor ops forward and about 15 backward.
        Tensor y = LayerNormRows.normalize(x.reshape(s.numel() / size, size), config.eps())
                .reshape(s.dims());
        if (weight != null) {
            y = y.mul(weight).add(bias);
        }
        return traced(y);
    }

    private static String joined(int[] d) {
        return Arrays.toString(d).replace("[", "").replace("]", "");
    }

    @Override
    public String describe() {
        return "LayerNorm(" + Arrays.toString(config.normalizedShape()) + ", eps=" + config.eps()
                + (config.elementwiseAffine() ? "" : ", elementwise_affine=False") + ")";
    }
}
