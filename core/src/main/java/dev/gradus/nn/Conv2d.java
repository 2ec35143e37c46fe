package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import dev.gradus.spi.ConvParams;

/**
 * 2-D convolution, PyTorch's {@code nn.Conv2d}: weights {@code [K, C/groups, R, S]} and bias {@code [K]}
 * initialised uniform in {@code ±1/sqrt(C/groups * R * S)} (PyTorch's default) or as Flux ({@link Init#GLOROT}).
 *
 * <p>Shapes: {@code [N, C, H, W] -> [N, K, P, Q]}.
 *
 * <pre>{@code new Conv2d(Conv2d.Config.of(1, 16, 3).withPadding(1), new Rng(0))}</pre>
 */
public class Conv2d extends Module {
    /**
     * Convolution settings; {@link #of} gives stride 1, no padding, dilation 1, one group, with bias.
     */
    public record Config(
            int in,
            int out,
            int kernelH,
            int kernelW,
            int stride,
            int padding,
            int dilation,
            int groups,
            boolean bias) {
        public Config {
            // Messages name the value: "this" would print zeros, the fields are not assigned yet.
            if (in < 1 || out < 1) {
                throw new IllegalArgumentException("Conv2d: channels must be >= 1, got " + in + " -> " + out);
            }
            if (kernelH < 1 || kernelW < 1) {
                throw new IllegalArgumentException("Conv2d: kernel must be >= 1, got " + kernelH + "x" + kernelW);
            }
            if (stride < 1 || padding < 0 || dilation < 1) {
                throw new IllegalArgumentException("Conv2d: need stride >= 1, padding >= 0, dilation >= 1, got stride "
                        + stride + ", padding " + padding + ", dilation " + dilation);
            }
            if (groups < 1 || in % groups != 0 || out % groups != 0) {
                throw new IllegalArgumentException(
                        "Conv2d: groups " + groups + " must divide both channel counts " + in + " and " + out);
            }
        }

        /** A square {@code kernel} from {@code in} to {@code out} channels. */
        public static Config of(int in, int out, int kernel) {
            return new Config(in, out, kernel, kernel, 1, 0, 1, 1, true);
        }

        public Config withStride(int s) {
            return new Config(in, out, kernelH, kernelW, s, padding, dilation, groups, bias);
        }

        public Config withPadding(int p) {
            return new Config(in, out, kernelH, kernelW, stride, p, dilation, groups, bias);
        }

        public Config withDilation(int d) {
            return new Config(in, out, kernelH, kernelW, stride, padding, d, groups, bias);
        }

        public Config withGroups(int g) {
            return new Config(in, out, kernelH, kernelW, stride, padding, dilation, g, bias);
        }

        public Config withBias(boolean b) {
            return new Config(in, out, kernelH, kernelW, stride, padding, dilation, groups, b);
        }

        /** The strides, padding, dilation and groups as the convolution kernels take them. */
        public ConvParams params() {
            return new ConvParams(stride, stride, padding, padding, dilation, dilation, groups);
        }
    }

    private final Config config;
    private final ConvParams params;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * A layer on the default backend with PyTorch's initialisation, seeded from the process-wide stream
     * ({@link Rng#manualSeed}), as {@code torch.nn.Conv2d(1, 16, 3)}: {@code new Conv2d(Conv2d.Config.of(1, 16, 3))}.
     */
    public Conv2d(Config config) {
        this(Backends.defaultBackend(), config, Rng.fromGlobal());
    }

    /** A layer on the default backend. */
    public Conv2d(Config config, Rng rng) {
        this(Backends.defaultBackend(), config, rng);
    }

    /** {@link #Conv2d(Backend, Config, Rng)} on {@code device}, the user's handle. */
    public Conv2d(Device device, Config config, Rng rng) {
        this(Backends.of(device), config, rng);
    }

    /** A layer on {@code backend} (SPI level; users pass a Device) with PyTorch's initialisation. */
    public Conv2d(Backend backend, Config config, Rng rng) {
        this(backend, config, Init.PYTORCH, rng);
    }

    /** {@link #Conv2d(Backend, Config, Init, Rng)} on {@code device}, the user's handle. */
    public Conv2d(Device device, Config config, Init init, Rng rng) {
        this(Backends.of(device), config, init, rng);
    }

    /**
     * A layer on {@code backend} (SPI level; users pass a Device) with the given initialisation; fans are {@code C/groups*R*S} in and
     * {@code K/groups*R*S} out ({@link Init#GLOROT} then matches Flux's {@code Conv}).
     */
    public Conv2d(Backend backend, Config config, Init init, Rng rng) {
        this.config = config;
        this.params = config.params();
        int area = config.kernelH() * config.kernelW();
        int fanIn = config.in() / config.groups() * area;
        int fanOut = config.out() / config.groups() * area;
        this.weight = registerParameter(
                "weight",
                init.weight(
                        backend,
                        rng,
                        fanIn,
                        fanOut,
                        config.out(),
                        config.in() / config.groups(),
                        config.kernelH(),
                        config.kernelW()));
        this.bias = config.bias() ? registerParameter("bias", init.bias(backend, rng, fanIn, config.out())) : null;
    }

    /** The layer's settings. */
    public Config config() {
        return config;
    }

    /** Weight {@code [K, C/groups, R, S]}. */
    public Parameter weight() {
        return weight;
    }

    /** Bias {@code [K]} or null. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public Tensor forward(Tensor x) {
        requireInput(x.shape());
        return traced(Functional.conv2d(x, weight, bias, params));
    }

    @Override
    public Shape outputShape(Shape input) {
        requireInput(input);
        return Shape.of(
                input.dim(0),
                config.out(),
                params.outH(input.dim(2), config.kernelH()),
                params.outW(input.dim(3), config.kernelW()));
    }

    /** Blames the caller for an input that is not {@code [N, in, H, W]}. */
    void requireInput(Shape input) {
        if (input.rank() != 4 || input.dim(1) != config.in()) {
            throw new IllegalArgumentException(
                    describe() + ": expected input [N, " + config.in() + ", H, W], got " + input);
        }
    }

    @Override
    public String describe() {
        return "Conv2d(" + config.in() + " -> " + config.out() + ", " + config.kernelH() + "x" + config.kernelW()
                + (config.stride() != 1 ? ", stride " + config.stride() : "")
                + (config.padding() != 0 ? ", pad " + config.padding() : "")
                + (config.dilation() != 1 ? ", dilation " + config.dilation() : "")
                + (config.groups() != 1 ? ", groups " + config.groups() : "") + ")";
    }
}
