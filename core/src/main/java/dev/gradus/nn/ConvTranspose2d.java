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
 * Transposed 2-D convolution, PyTorch's {@code nn.ConvTranspose2d}: weights {@code [C, K/groups, R, S]} and bias
 * {@code [K]} initialised uniform in {@code ±1/sqrt(K/groups * R * S)} (PyTorch's default) or as
 * {@link Init#GLOROT}.
 *
 * <p>Shapes: {@code [N, C, H, W] -> [N, K, Ho, Wo]} with
 * {@code Ho = (H-1)*stride - 2*padding + dilation*(R-1) + outputPadding + 1} (and {@code Wo} likewise).
 *
 * <pre>{@code new ConvTranspose2d(ConvTranspose2d.Config.of(16, 8, 4).withStride(2).withPadding(1))   // 7x7 -> 14x14}</pre>
 */
public class ConvTranspose2d extends Module {
    /**
     * Settings in PyTorch's argument order, each per axis (height, width); {@link #of} gives stride 1, no padding,
     * no output padding, one group, with bias, dilation 1.
     */
    public record Config(
            int in,
            int out,
            int kernelH,
            int kernelW,
            int strideH,
            int strideW,
            int paddingH,
            int paddingW,
            int outputPaddingH,
            int outputPaddingW,
            int groups,
            boolean bias,
            int dilationH,
            int dilationW) {
        public Config {
            // Messages name the value: "this" would print zeros, the fields are not assigned yet.
            if (in < 1 || out < 1) {
                throw new IllegalArgumentException("ConvTranspose2d: channels must be >= 1, got " + in + " -> " + out);
            }
            if (kernelH < 1 || kernelW < 1) {
                throw new IllegalArgumentException(
                        "ConvTranspose2d: kernel must be >= 1, got " + kernelH + "x" + kernelW);
            }
            if (strideH < 1 || strideW < 1 || paddingH < 0 || paddingW < 0 || dilationH < 1 || dilationW < 1) {
                throw new IllegalArgumentException("ConvTranspose2d: need stride >= 1, padding >= 0, dilation >= 1,"
                        + " got stride " + strideH + "x" + strideW + ", padding " + paddingH + "x" + paddingW
                        + ", dilation " + dilationH + "x" + dilationW);
            }
            if (outputPaddingH < 0
                    || outputPaddingW < 0
                    || (outputPaddingH >= strideH && outputPaddingH >= dilationH)
                    || (outputPaddingW >= strideW && outputPaddingW >= dilationW)) {
                throw new IllegalArgumentException("ConvTranspose2d: output padding " + outputPaddingH + "x"
                        + outputPaddingW + " must be >= 0 and smaller than either stride " + strideH + "x" + strideW
                        + " or dilation " + dilationH + "x" + dilationW);
            }
            if (groups < 1 || in % groups != 0 || out % groups != 0) {
                throw new IllegalArgumentException(
                        "ConvTranspose2d: groups " + groups + " must divide both channel counts " + in + " and " + out);
            }
        }

        /** A square {@code kernel} from {@code in} to {@code out} channels. */
        public static Config of(int in, int out, int kernel) {
            return of(in, out, kernel, kernel);
        }

        /** A {@code kernelH x kernelW} kernel from {@code in} to {@code out} channels. */
        public static Config of(int in, int out, int kernelH, int kernelW) {
            return new Config(in, out, kernelH, kernelW, 1, 1, 0, 0, 0, 0, 1, true, 1, 1);
        }

        public Config withStride(int s) {
            return withStride(s, s);
        }

        public Config withStride(int h, int w) {
            return new Config(
                    in,
                    out,
                    kernelH,
                    kernelW,
                    h,
                    w,
                    paddingH,
                    paddingW,
                    outputPaddingH,
                    outputPaddingW,
                    groups,
                    bias,
                    dilationH,
                    dilationW);
        }

        public Config withPadding(int p) {
            return withPadding(p, p);
        }

        public Config withPadding(int h, int w) {
            return new Config(
                    in,
                    out,
                    kernelH,
                    kernelW,
                    strideH,
                    strideW,
                    h,
                    w,
                    outputPaddingH,
                    outputPaddingW,
                    groups,
                    bias,
                    dilationH,
                    dilationW);
        }

        /** Checked against the stride and dilation set so far: set those first. */
        public Config withOutputPadding(int p) {
            return withOutputPadding(p, p);
        }

        public Config withOutputPadding(int h, int w) {
            return new Config(
                    in, out, kernelH, kernelW, strideH, strideW, paddingH, paddingW, h, w, groups, bias, dilationH,
                    dilationW);
        }

        public Config withGroups(int g) {
            return new Config(
                    in,
                    out,
                    kernelH,
                    kernelW,
                    strideH,
                    strideW,
                    paddingH,
                    paddingW,
                    outputPaddingH,
                    outputPaddingW,
                    g,
                    bias,
                    dilationH,
                    dilationW);
        }

        public Config withBias(boolean b) {
            return new Config(
                    in,
                    out,
                    kernelH,
                    kernelW,
                    strideH,
                    strideW,
                    paddingH,
                    paddingW,
                    outputPaddingH,
                    outputPaddingW,
                    groups,
                    b,
                    dilationH,
                    dilationW);
        }

        public Config withDilation(int d) {
            return withDilation(d, d);
        }

        public Config withDilation(int h, int w) {
            return new Config(
                    in,
                    out,
                    kernelH,
                    kernelW,
                    strideH,
                    strideW,
                    paddingH,
                    paddingW,
                    outputPaddingH,
                    outputPaddingW,
                    groups,
                    bias,
                    h,
                    w);
        }

        /** The strides, padding, dilation and groups as {@link Functional#convTranspose2d} takes them. */
        public ConvParams params() {
            return new ConvParams(strideH, strideW, paddingH, paddingW, dilationH, dilationW, groups);
        }

        /** The output height for input height {@code h}. */
        public long outH(int h) {
            return (h - 1L) * strideH - 2L * paddingH + (long) dilationH * (kernelH - 1) + outputPaddingH + 1;
        }

        /** The output width for input width {@code w}. */
        public long outW(int w) {
            return (w - 1L) * strideW - 2L * paddingW + (long) dilationW * (kernelW - 1) + outputPaddingW + 1;
        }
    }

    private final Config config;
    private final ConvParams params;
    private final Parameter weight;
    private final Parameter bias;

    /** A layer on the default backend with PyTorch's initialisation, seeded from the process-wide stream. */
    public ConvTranspose2d(Config config) {
        this(Backends.defaultBackend(), config, Rng.fromGlobal());
    }

    /** A layer on the default backend. */
    public ConvTranspose2d(Config config, Rng rng) {
        this(Backends.defaultBackend(), config, rng);
    }

    /** {@link #ConvTranspose2d(Backend, Config, Rng)} on {@code device}, the user's handle. */
    public ConvTranspose2d(Device device, Config config, Rng rng) {
        this(Backends.of(device), config, rng);
    }

    /** A layer on {@code backend} (SPI level; users pass a Device) with PyTorch's initialisation. */
    public ConvTranspose2d(Backend backend, Config config, Rng rng) {
        this(backend, config, Init.PYTORCH, rng);
    }

    /** {@link #ConvTranspose2d(Backend, Config, Init, Rng)} on {@code device}, the user's handle. */
    public ConvTranspose2d(Device device, Config config, Init init, Rng rng) {
        this(Backends.of(device), config, init, rng);
    }

    /**
     * A layer on {@code backend} (SPI level; users pass a Device) with the given initialisation; the fans are read off the weight as PyTorch does:
     * {@code K/groups*R*S} in, {@code C*R*S} out.
     */
    public ConvTranspose2d(Backend backend, Config config, Init init, Rng rng) {
        this.config = config;
        this.params = config.params();
        int area = Math.multiplyExact(config.kernelH(), config.kernelW());
        int fanIn = Math.multiplyExact(config.out() / config.groups(), area);
        int fanOut = Math.multiplyExact(config.in(), area);
        this.weight = registerParameter(
                "weight",
                init.weight(
                        backend,
                        rng,
                        fanIn,
                        fanOut,
                        config.in(),
                        config.out() / config.groups(),
                        config.kernelH(),
                        config.kernelW()));
        this.bias = config.bias() ? registerParameter("bias", init.bias(backend, rng, fanIn, config.out())) : null;
    }

    /** The layer's settings. */
    public Config config() {
        return config;
    }

    /** Weight {@code [C, K/groups, R, S]}. */
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
        return traced(
                Functional.convTranspose2d(x, weight, bias, params, config.outputPaddingH(), config.outputPaddingW()));
    }

    @Override
    public Shape outputShape(Shape input) {
        requireInput(input);
        long h = config.outH(input.dim(2));
        long w = config.outW(input.dim(3));
        if (h < 1 || w < 1 || h > Integer.MAX_VALUE || w > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(describe() + ": input " + input + " gives an output of " + h + "x" + w);
        }
        return Shape.of(input.dim(0), config.out(), (int) h, (int) w);
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
        Config c = config;
        return "ConvTranspose2d(" + c.in() + " -> " + c.out() + ", " + c.kernelH() + "x" + c.kernelW()
                + pair(", stride ", c.strideH(), c.strideW(), 1)
                + pair(", pad ", c.paddingH(), c.paddingW(), 0)
                + pair(", output pad ", c.outputPaddingH(), c.outputPaddingW(), 0)
                + pair(", dilation ", c.dilationH(), c.dilationW(), 1)
                + (c.groups() != 1 ? ", groups " + c.groups() : "") + ")";
    }

    /** {@code label + h} (or {@code h x w} when they differ), empty when both are the default. */
    private static String pair(String label, int h, int w, int unset) {
        if (h == unset && w == unset) {
            return "";
        }
        return label + (h == w ? String.valueOf(h) : h + "x" + w);
    }
}
