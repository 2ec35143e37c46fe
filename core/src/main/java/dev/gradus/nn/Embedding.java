package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.DType;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import java.util.Arrays;

/**
 * A lookup table of {@code numEmbeddings} vectors of size {@code embeddingDim}, indexed by INT32 ids, as PyTorch's
 * {@code nn.Embedding}: weights drawn from N(0, 1); the row at {@code paddingIdx} (if any) starts at zero and gets
 * no gradient.
 *
 * <p>Shapes: {@code ids [...]} INT32; {@code weight [numEmbeddings, embeddingDim]}; output {@code [..., embeddingDim]}.
 *
 * <pre>{@code Embedding emb = new Embedding(10000, 64);  Tensor v = emb.forward(tokenIds);   // [N, T] -> [N, T, 64]}</pre>
 */
public class Embedding extends Module {
    /** No padding index. */
    public static final int NO_PADDING = Integer.MIN_VALUE;

    private final int numEmbeddings;
    private final int embeddingDim;
    private final int paddingIdx;
    private final Parameter weight;

    /** A table on the default backend, seeded from the process-wide stream, without a padding index. */
    public Embedding(int numEmbeddings, int embeddingDim) {
        this(Backends.defaultBackend(), numEmbeddings, embeddingDim, NO_PADDING, Rng.fromGlobal());
    }

    /** {@link #Embedding(Backend, int, int, int, Rng)} on {@code device}, the user's handle. */
    public Embedding(Device device, int numEmbeddings, int embeddingDim, int paddingIdx, Rng rng) {
        this(Backends.of(device), numEmbeddings, embeddingDim, paddingIdx, rng);
    }

    /** A table on {@code backend} (SPI level; users pass a Device); {@code paddingIdx} may be negative (from the end) or {@link #NO_PADDING}. */
    public Embedding(Backend backend, int numEmbeddings, int embeddingDim, int paddingIdx, Rng rng) {
        if (numEmbeddings <= 0 || embeddingDim <= 0) {
            throw new IllegalArgumentException(
                    "Embedding: sizes must be positive, got " + numEmbeddings + " x " + embeddingDim);
        }
        int pad = paddingIdx;
        if (pad != NO_PADDING) {
            if (pad < -numEmbeddings || pad >= numEmbeddings) {
                throw new IllegalArgumentException("Embedding: padding index " + paddingIdx + " outside [-"
                        + numEmbeddings + ", " + numEmbeddings + ")");
            }
            pad = pad < 0 ? pad + numEmbeddings : pad;
        }
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.paddingIdx = pad;
        float[] w = new float[Math.multiplyExact(numEmbeddings, embeddingDim)];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rng.nextGaussian();
        }
        if (pad != NO_PADDING) {
            Arrays.fill(w, pad * embeddingDim, (pad + 1) * embeddingDim, 0f);
        }
        weight = registerParameter("weight", Tensor.of(backend, w, numEmbeddings, embeddingDim));
    }

    /** The padding index in {@code [0, numEmbeddings)}, or {@link #NO_PADDING}. */
    public int paddingIdx() {
        return paddingIdx;
    }

    /** The table {@code [numEmbeddings, embeddingDim]}. */
    public Parameter weight() {
        return weight;
    }

    @Override
    public Tensor forward(Tensor ids) {
        if (ids.dtype() != DType.INT32) {
            throw new IllegalArgumentException(
                    describe() + ": ids must be INT32, got " + ids.dtype() + " " + ids.shape());
        }
        int[] flat = ids.toIntArray();
        for (int i = 0; i < flat.length; i++) {
            if (flat[i] < 0 || flat[i] >= numEmbeddings) {
                throw new IllegalArgumentException(describe() + ": id " + flat[i] + " at position " + i + " of "
                        + ids.shape() + " is outside [0, " + numEmbeddings + ")");
            }
        }
        int[] outShape = Arrays.copyOf(ids.shape().dims(), ids.shape().rank() + 1);
        outShape[outShape.length - 1] = embeddingDim;
        Tensor rows = weight.indexSelect(0, Tensor.ofInts(weight.backend(), flat, flat.length));
        if (paddingIdx != NO_PADDING) {
            // The padding row's output is zero already; the mask keeps its gradient at zero too, as PyTorch does.
            float[] keep = new float[flat.length];
            for (int i = 0; i < flat.length; i++) {
                keep[i] = flat[i] == paddingIdx ? 0f : 1f;
            }
            rows = rows.mul(Tensor.of(weight.backend(), keep, flat.length, 1));
        }
        return traced(rows.reshape(outShape));
    }

    @Override
    public String describe() {
        return "Embedding(" + numEmbeddings + ", " + embeddingDim
                + (paddingIdx == NO_PADDING ? "" : ", padding_idx=" + paddingIdx) + ")";
    }
}
