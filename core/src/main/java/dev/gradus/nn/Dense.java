package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;

/**
 * A fully connected layer {@code y = x W^T + b}, PyTorch's {@code nn.Linear}.
 *
 * <p>Shapes: {@code x [..., in]}, {@code weight [out, in]}, {@code bias [out]}, {@code y [..., out]}.
 *
 * <pre>{@code Dense d = new Dense(784, 48);   // PyTorch init, seed 0}</pre>
 */
public class Dense extends Module {
    private final int in;
    private final int out;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * PyTorch initialisation on the default backend, seeded from the process-wide stream ({@link Rng#manualSeed}),
     * so two such layers differ and a seeded program reproduces.
     */
    public Dense(int in, int out) {
        this(in, out, true, Init.PYTORCH, Rng.fromGlobal());
    }

    /** A layer with the given initialisation drawn from {@code rng}. */
    public Dense(int in, int out, boolean bias, Init init, Rng rng) {
        this(Backends.defaultBackend(), in, out, bias, init, rng);
    }

    /** {@link #Dense(Backend, int, int, boolean, Init, Rng)} on {@code device}, the user's handle. */
    public Dense(Device device, int in, int out, boolean bias, Init init, Rng rng) {
        this(Backends.of(device), in, out, bias, init, rng);
    }

    /** A layer on {@code backend} (SPI level; users pass a Device). */
    public Dense(Backend backend, int in, int out, boolean bias, Init init, Rng rng) {
        if (in <= 0 || out <= 0) {
            throw new IllegalArgumentException("Dense: sizes must be positive, got " + in + " -> " + out);
        }
        this.in = in;
        this.out = out;
        Tensor w;
        try {
            w = init.weight(backend, rng, in, out, out, in);
        } catch (IllegalArgumentException tooLarge) {
            throw new IllegalArgumentException("Dense(" + in + " -> " + out + "): weight " + tooLarge.getMessage());
        }
        this.weight = registerParameter("weight", w);
        this.bias = bias ? registerParameter("bias", init.bias(backend, rng, in, out)) : null;
    }

    /** Weight {@code [out, in]}. */
    public Parameter weight() {
        return weight;
    }

    /** Bias {@code [out]}, or null. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.shape().rank() == 0 || x.shape().dim(-1) != in) {
            throw new IllegalArgumentException(describe() + ": expected input [..., " + in + "], got " + x.shape());
        }
        Tensor y = matmulRows(x, weight.t());
        return traced(bias == null ? y : y.add(bias));
    }

    /**
     * {@code x [..., in] x w [in, out] -> [..., out]} as one {@code [rows, in] x [in, out]} product, as PyTorch's
     * linear: a batched product would broadcast {@code w} over the leading axes, and its gradient would be summed
     * back from a strided {@code [..., in, out]} copy (most of the {@code vit} example's backward, measured).
     */
    static Tensor matmulRows(Tensor x, Tensor w) {
        Shape s = x.shape();
        if (s.rank() <= 2) {
            return x.matmul(w);
        }
        int[] dims = s.dims();
        int rows = s.numel() / dims[dims.length - 1];
        dims[dims.length - 1] = w.shape().dim(1);
        return x.reshape(rows, s.dim(-1)).matmul(w).reshape(dims);
    }

    @Override
    public Shape outputShape(Shape input) {
        int[] d = input.dims();
        if (d.length == 0 || d[d.length - 1] != in) {
            throw new IllegalArgumentException(describe() + ": expected input [..., " + in + "], got " + input);
        }
        d[d.length - 1] = out;
        return Shape.of(d);
    }

    @Override
    public String describe() {
        return "Dense(" + in + " -> " + out + ")";
    }
}
