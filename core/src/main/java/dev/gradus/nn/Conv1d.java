package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import dev.gradus.spi.ConvParams;

/**
 * A 1-D convolution, as PyTorch's {@code nn.Conv1d}: run as a 2-D convolution of height 1 (the same kernels),
 * weight {@code [out, in / groups, kernel]} and bias {@code [out]} in PyTorch's layout and initialisation.
 *
 * <p>Shapes: {@code x [N, in, L]} to {@code [N, out, floor((L + 2 pad - dilation (kernel - 1) - 1) / stride) + 1]}.
 *
 * <pre>{@code Conv1d c = new Conv1d(backend, Conv1d.Config.of(16, 32, 5).withPadding(2), rng);  // [N, 16, L] -> [N, 32, L]}</pre>
 */
public class Conv1d extends Module {
    /** PyTorch's constructor arguments. */
    public record Config(int in, int out, int kernel, int stride, int padding, int dilation, int groups, boolean bias) {
        public Config {
            if (in <= 0 || out <= 0 || kernel <= 0 || groups <= 0 || in % groups != 0 || out % groups != 0) {
                throw new IllegalArgumentException("Conv1d: in " + in + " and out " + out
                        + " must be positive multiples of groups " + groups + ", kernel " + kernel + " positive");
            }
        }

        /** Stride 1, no padding, dilation 1, one group, with a bias. */
        public static Config of(int in, int out, int kernel) {
            return new Config(in, out, kernel, 1, 0, 1, 1, true);
        }

        /** Another stride. */
        public Config withStride(int s) {
            return new Config(in, out, kernel, s, padding, dilation, groups, bias);
        }

        /** Zero padding at both ends. */
        public Config withPadding(int p) {
            return new Config(in, out, kernel, stride, p, dilation, groups, bias);
        }

        /** Another dilation. */
        public Config withDilation(int d) {
            return new Config(in, out, kernel, stride, padding, d, groups, bias);
        }

        /** Grouped (depthwise when groups == in). */
        public Config withGroups(int g) {
            return new Config(in, out, kernel, stride, padding, dilation, g, bias);
        }

        ConvParams params() {
            return new ConvParams(1, stride, 0, padding, 1, dilation, groups);
        }
    }

    private final Config config;
    private final Parameter weight;
    private final Parameter bias;

    /** On the default backend, seeded from the process-wide stream. */
    public Conv1d(Config config) {
        this(Backends.defaultBackend(), config, Rng.fromGlobal());
    }

    /** {@link #Conv1d(Backend, Config, Rng)} on {@code device}, the user's handle. */
    public Conv1d(Device device, Config config, Rng rng) {
        this(Backends.of(device), config, rng);
    }

    /** On {@code backend} (SPI level; users pass a Device), PyTorch's initialisation drawn from {@code rng}. */
    public Conv1d(Backend backend, Config config, Rng rng) {
        this.config = config;
        int fanIn = config.in() / config.groups() * config.kernel();
        weight = registerParameter(
                "weight",
                Init.PYTORCH.weight(
                        backend, rng, fanIn, 0, config.out(), config.in() / config.groups(), config.kernel()));
        bias = config.bias() ? registerParameter("bias", Init.PYTORCH.bias(backend, rng, fanIn, config.out())) : null;
    }

    /** Weight {@code [out, in / groups, kernel]}. */
    public Parameter weight() {
        return weight;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.shape().rank() != 3 || x.shape().dim(1) != config.in()) {
            throw new IllegalArgumentException(
                    describe() + ": expected input [N, " + config.in() + ", L], got " + x.shape());
        }
        int n = x.shape().dim(0);
        Tensor w = weight.reshape(config.out(), config.in() / config.groups(), 1, config.kernel());
        Tensor y = Functional.conv2d(x.reshape(n, config.in(), 1, x.shape().dim(2)), w, bias, config.params());
        return traced(y.squeeze(2));
    }

    @Override
    public String describe() {
        return "Conv1d(" + config.in() + ", " + config.out() + ", kernel_size=" + config.kernel()
                + (config.stride() != 1 ? ", stride=" + config.stride() : "")
                + (config.padding() != 0 ? ", padding=" + config.padding() : "")
                + (config.dilation() != 1 ? ", dilation=" + config.dilation() : "")
                + (config.groups() != 1 ? ", groups=" + config.groups() : "") + ")";
    }
}
