package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import java.util.Arrays;

/**
 * Normalises each example's channels in {@code numGroups} groups to mean 0 and variance 1 (biased), then scales
 * and shifts per channel, as PyTorch's {@code nn.GroupNorm}; batch-size independent, the same in training and
 * evaluation.
 *
 * <p>Shapes: {@code x [N, C, *]} with {@code C = numChannels}; {@code weight}, {@code bias} {@code [C]} (ones,
 * zeros); output = input shape.
 *
 * <pre>{@code GroupNorm gn = new GroupNorm(4, 32);   // [N, 32, H, W] in 4 groups of 8 channels}</pre>
 */
public class GroupNorm extends Module {
    private final int groups;
    private final int channels;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    /** {@code numGroups} groups of {@code numChannels / numGroups} channels, eps 1e-5, affine, default backend. */
    public GroupNorm(int numGroups, int numChannels) {
        this(Backends.defaultBackend(), numGroups, numChannels, 1e-5f, true);
    }

    /** {@link #GroupNorm(Backend, int, int, float, boolean)} on {@code device}, the user's handle. */
    public GroupNorm(Device device, int numGroups, int numChannels, float eps, boolean affine) {
        this(Backends.of(device), numGroups, numChannels, eps, affine);
    }

    /** The layer on {@code backend} (SPI level; users pass a Device). */
    public GroupNorm(Backend backend, int numGroups, int numChannels, float eps, boolean affine) {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0) {
            throw new IllegalArgumentException("GroupNorm: num_channels " + numChannels
                    + " must be a positive multiple of num_groups " + numGroups);
        }
        this.groups = numGroups;
        this.channels = numChannels;
        this.eps = eps;
        weight = affine ? registerParameter("weight", Tensor.full(backend, 1f, numChannels)) : null;
        bias = affine ? registerParameter("bias", Tensor.full(backend, 0f, numChannels)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.shape().rank() < 2 || x.shape().dim(1) != channels) {
            throw new IllegalArgumentException(
                    describe() + ": expected input [N, " + channels + ", ...], got " + x.shape());
        }
        int n = x.shape().dim(0);
        Tensor grouped = x.reshape(n, groups, -1);
        Tensor centred = grouped.sub(grouped.mean(2, true));
        Tensor var = centred.mul(centred).mean(2, true);
        Tensor y = centred.div(var.add(eps).sqrt()).reshape(x.shape().dims());
        if (weight != null) {
            int[] perChannel = new int[x.shape().rank()];
            Arrays.fill(perChannel, 1);
            perChannel[1] = channels;
            y = y.mul(weight.reshape(perChannel)).add(bias.reshape(perChannel));
        }
        return traced(y);
    }

    @Override
    public String describe() {
        return "GroupNorm(" + groups + ", " + channels + ", eps=" + eps + (weight == null ? ", affine=False" : "")
                + ")";
    }
}
