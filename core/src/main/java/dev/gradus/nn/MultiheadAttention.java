package dev.gradus.nn;

import dev.gradus.Attention;
import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;

/**
 * Multi-head attention, as PyTorch's {@code nn.MultiheadAttention}: the query, key and value projected by
 * {@code in_proj_weight [3E, E]} and {@code in_proj_bias [3E]}, split into {@code numHeads} heads of
 * {@code E / numHeads}, attended ({@link Attention#scaledDotProductAttention}), joined and projected by
 * {@code out_proj} (a {@link Dense}); initialised as PyTorch does (Xavier-uniform in-projection, zero biases).
 *
 * <p>Shapes: with {@code batchFirst} query {@code [N, L, E]}, key and value {@code [N, S, E]}, output
 * {@code [N, L, E]}; else time-major ({@code [L, N, E]}). Masks are additive floats: {@code attnMask [L, S]} (see
 * {@link Attention#causalMask}) and a {@code keyPaddingMask [N, S]} whose non-zero entries mark keys to ignore.
 *
 * <pre>{@code
 * MultiheadAttention mha = new MultiheadAttention(MultiheadAttention.Config.of(64, 4).withBatchFirst());
 * Tensor y = mha.forward(x);   // self-attention, [N, L, 64] -> [N, L, 64]
 * }</pre>
 */
public class MultiheadAttention extends Module {
    /** PyTorch's constructor arguments. */
    public record Config(int embedDim, int numHeads, float dropout, boolean bias, boolean batchFirst) {
        public Config {
            if (embedDim <= 0 || numHeads <= 0 || embedDim % numHeads != 0) {
                throw new IllegalArgumentException("MultiheadAttention: embed_dim " + embedDim
                        + " must be a positive multiple of num_heads " + numHeads);
            }
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("MultiheadAttention: dropout must be in [0, 1), got " + dropout);
            }
        }

        /** No dropout, with biases, time-major (PyTorch's defaults). */
        public static Config of(int embedDim, int numHeads) {
            return new Config(embedDim, numHeads, 0f, true, false);
        }

        /** Dropout on the attention weights in training mode. */
        public Config withDropout(float p) {
            return new Config(embedDim, numHeads, p, bias, batchFirst);
        }

        /** Inputs and output as {@code [N, L, E]}. */
        public Config withBatchFirst() {
            return new Config(embedDim, numHeads, dropout, bias, true);
        }

        /** Without biases. */
        public Config withoutBias() {
            return new Config(embedDim, numHeads, dropout, false, batchFirst);
        }
    }

    private final Config config;
    private final Parameter inProjWeight;
    private final Parameter inProjBias;
    private final Dense outProj;
    private final Rng dropoutRng;

    /** On the default backend, seeded from the process-wide stream. */
    public MultiheadAttention(Config config) {
        this(Backends.defaultBackend(), config, Rng.fromGlobal());
    }

    /** On {@code backend}, initialised from {@code rng}. */
    public MultiheadAttention(Backend backend, Config config, Rng rng) {
        this.config = config;
        int e = config.embedDim();
        inProjWeight = registerParameter("in_proj_weight", Init.GLOROT.weight(backend, rng, e, 3 * e, 3 * e, e));
        inProjBias = config.bias() ? registerParameter("in_proj_bias", Tensor.full(backend, 0f, 3 * e)) : null;
        outProj = registerModule("out_proj", new Dense(backend, e, e, config.bias(), Init.PYTORCH, rng));
        if (config.bias()) {
            try (Tensor zero = Tensor.full(backend, 0f, e)) {
                outProj.bias().copyFrom(zero);
            }
        }
        dropoutRng = new Rng(rng.nextLong());
    }

    /** The settings. */
    public Config config() {
        return config;
    }

    /** The in-projection {@code [3E, E]}: query, key and value rows in that order. */
    public Parameter inProjWeight() {
        return inProjWeight;
    }

    /** The in-projection's bias {@code [3E]} (null without biases). */
    public Parameter inProjBias() {
        return inProjBias;
    }

    /** The output projection. */
    public Dense outProj() {
        return outProj;
    }

    /** Self-attention without masks: {@code forward(x, x, x, null, null)}. */
    @Override
    public Tensor forward(Tensor x) {
        return forward(x, x, x, null, null);
    }

    /** Attention of {@code query} over {@code key} and {@code value}, with optional masks (null for none). */
    public Tensor forward(Tensor query, Tensor key, Tensor value, Tensor attnMask, Tensor keyPaddingMask) {
        int e = config.embedDim();
        for (Tensor t : new Tensor[] {query, key, value}) {
            if (t.shape().rank() != 3 || t.shape().dim(2) != e) {
                throw new IllegalArgumentException(describe() + ": expected inputs "
                        + (config.batchFirst() ? "[N, L, " : "[L, N, ") + e + "], got query " + query.shape()
                        + ", key " + key.shape() + ", value " + value.shape());
            }
        }
        Tensor q = config.batchFirst() ? query : query.transpose(0, 1);
        Tensor k = config.batchFirst() ? key : key.transpose(0, 1);
        Tensor v = config.batchFirst() ? value : value.transpose(0, 1);
        int n = q.shape().dim(0);
        int l = q.shape().dim(1);
        int s = k.shape().dim(1);
        if (k.shape().dim(0) != n || !k.shape().equals(v.shape())) {
            throw new IllegalArgumentException(describe() + ": key " + key.shape() + " and value " + value.shape()
                    + " must match each other and the query's batch " + query.shape());
        }
        Tensor mask = attnMask;
        if (keyPaddingMask != null) {
            if (!keyPaddingMask.shape().equals(Shape.of(n, s))) {
                throw new IllegalArgumentException(
                        describe() + ": keyPaddingMask must be [" + n + ", " + s + "], got " + keyPaddingMask.shape());
            }
            Tensor pad = Attention.keyPaddingMask(keyPaddingMask);
            mask = mask == null ? pad : mask.add(pad);
        }
        Tensor heads = Attention.scaledDotProductAttention(
                split(project(q, 0), n, l),
                split(project(k, 1), n, s),
                split(project(v, 2), n, s),
                mask,
                config.dropout(),
                isTraining(),
                dropoutRng);
        Tensor joined = heads.permute(0, 2, 1, 3).reshape(n, l, e);
        Tensor out = outProj.forward(joined);
        return traced(config.batchFirst() ? out : out.transpose(0, 1));
    }

    /** Chunk {@code i} (query, key, value) of the in-projection applied to {@code x [N, T, E]}. */
    private Tensor project(Tensor x, int i) {
        int e = config.embedDim();
        Tensor y = Dense.matmulRows(x, inProjWeight.narrow(0, i * e, e).t());
        return inProjBias == null ? y : y.add(inProjBias.narrow(0, i * e, e));
    }

    /** {@code [N, T, E]} as {@code [N, heads, T, E / heads]}. */
    private Tensor split(Tensor x, int n, int t) {
        int h = config.numHeads();
        return x.reshape(n, t, h, config.embedDim() / h).permute(0, 2, 1, 3);
    }

    @Override
    public String describe() {
        return "MultiheadAttention(embed_dim=" + config.embedDim() + ", num_heads=" + config.numHeads()
                + (config.dropout() != 0 ? ", dropout=" + config.dropout() : "")
                + (config.bias() ? "" : ", bias=False")
                + (config.batchFirst() ? ", batch_first=True" : "") + ")";
    }
}
