package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.ops.GeluExact;
import dev.gradus.spi.Backend;

/**
 * One transformer encoder block, as PyTorch's {@code nn.TransformerEncoderLayer}: self-attention and a two-layer
 * feed-forward network, each with dropout and a residual connection and layer norm, the norms before each block
 * ({@code normFirst}) or after it; children named as PyTorch's ({@code self_attn}, {@code linear1},
 * {@code linear2}, {@code norm1}, {@code norm2}).
 *
 * <p>Shapes: {@code [N, T, dModel]} with {@code batchFirst}, else {@code [T, N, dModel]}; output = input shape.
 *
 * <pre>{@code
 * var layer = new TransformerEncoderLayer(TransformerEncoderLayer.Config.of(64, 4).withFeedforward(128)
 *         .withActivation("gelu").withBatchFirst().withNormFirst());
 * }</pre>
 */
public class TransformerEncoderLayer extends Module {
    /** PyTorch's constructor arguments (defaults: feed-forward 2048, dropout 0.1, relu, eps 1e-5). */
    public record Config(
            int dModel,
            int nhead,
            int dimFeedforward,
            float dropout,
            String activation,
            float layerNormEps,
            boolean batchFirst,
            boolean normFirst) {
        public Config {
            if (!"relu".equals(activation) && !"gelu".equals(activation)) {
                throw new IllegalArgumentException(
                        "TransformerEncoderLayer: activation must be relu or gelu, got '" + activation + "'");
            }
            if (dimFeedforward <= 0) {
                throw new IllegalArgumentException(
                        "TransformerEncoderLayer: dim_feedforward must be positive, got " + dimFeedforward);
            }
        }

        /** PyTorch's defaults for {@code dModel} and {@code nhead}. */
        public static Config of(int dModel, int nhead) {
            return new Config(dModel, nhead, 2048, 0.1f, "relu", 1e-5f, false, false);
        }

        /** The feed-forward width. */
        public Config withFeedforward(int d) {
            return new Config(dModel, nhead, d, dropout, activation, layerNormEps, batchFirst, normFirst);
        }

        /** The dropout probability (attention weights, feed-forward, residual branches). */
        public Config withDropout(float p) {
            return new Config(dModel, nhead, dimFeedforward, p, activation, layerNormEps, batchFirst, normFirst);
        }

        /** {@code "relu"} or {@code "gelu"} (exact). */
        public Config withActivation(String a) {
            return new Config(dModel, nhead, dimFeedforward, dropout, a, layerNormEps, batchFirst, normFirst);
        }

        /** Inputs as {@code [N, T, dModel]}. */
        public Config withBatchFirst() {
            return new Config(dModel, nhead, dimFeedforward, dropout, activation, layerNormEps, true, normFirst);
        }

        /** Layer norm before attention and feed-forward (pre-norm) instead of after. */
        public Config withNormFirst() {
            return new Config(dModel, nhead, dimFeedforward, dropout, activation, layerNormEps, batchFirst, true);
        }
    }

    private final Config config;
    private final MultiheadAttention selfAttn;
    private final Dense linear1;
    private final Dropout dropout;
    private final Dense linear2;
    private final LayerNorm norm1;
    private final LayerNorm norm2;
    private final Dropout dropout1;
    private final Dropout dropout2;

    /** On the default backend, seeded from the process-wide stream. */
    public TransformerEncoderLayer(Config config) {
        this(Backends.defaultBackend(), config, Rng.fromGlobal());
    }

    /** On {@code backend}, initialised from {@code rng}. */
    public TransformerEncoderLayer(Backend backend, Config config, Rng rng) {
        this.config = config;
        int d = config.dModel();
        MultiheadAttention.Config attn =
                MultiheadAttention.Config.of(d, config.nhead()).withDropout(config.dropout());
        selfAttn = registerModule(
                "self_attn", new MultiheadAttention(backend, config.batchFirst() ? attn.withBatchFirst() : attn, rng));
        linear1 = registerModule("linear1", new Dense(backend, d, config.dimFeedforward(), true, Init.PYTORCH, rng));
        dropout = registerModule("dropout", new Dropout(config.dropout(), new Rng(rng.nextLong())));
        linear2 = registerModule("linear2", new Dense(backend, config.dimFeedforward(), d, true, Init.PYTORCH, rng));
        LayerNorm.Config norm = LayerNorm.Config.of(d).withEps(config.layerNormEps());
        norm1 = registerModule("norm1", new LayerNorm(backend, norm));
        norm2 = registerModule("norm2", new LayerNorm(backend, norm));
        dropout1 = registerModule("dropout1", new Dropout(config.dropout(), new Rng(rng.nextLong())));
        dropout2 = registerModule("dropout2", new Dropout(config.dropout(), new Rng(rng.nextLong())));
    }

    /** The settings. */
    public Config config() {
        return config;
    }

    /** The self-attention. */
    public MultiheadAttention selfAttn() {
        return selfAttn;
    }

    /** The feed-forward network's first layer ({@code dModel -> dimFeedforward}). */
    public Dense linear1() {
        return linear1;
    }

    /** The feed-forward network's second layer ({@code dimFeedforward -> dModel}). */
    public Dense linear2() {
        return linear2;
    }

    /** The norm of the attention block (before it with {@code normFirst}, else after its residual). */
    public LayerNorm norm1() {
        return norm1;
    }

    /** The norm of the feed-forward block. */
    public LayerNorm norm2() {
        return norm2;
    }

    @Override
    public Tensor forward(Tensor x) {
        return forward(x, null, null);
    }

    /** The block with an additive attention mask {@code [T, T]} and a key-padding mask {@code [N, T]} (null: none). */
    public Tensor forward(Tensor x, Tensor mask, Tensor keyPaddingMask) {
        Tensor h = x;
        if (config.normFirst()) {
            h = h.add(selfAttentionBlock(norm1.forward(h), mask, keyPaddingMask));
            h = h.add(feedForwardBlock(norm2.forward(h)));
        } else {
            h = norm1.forward(h.add(selfAttentionBlock(h, mask, keyPaddingMask)));
            h = norm2.forward(h.add(feedForwardBlock(h)));
        }
        return h;
    }

    private Tensor selfAttentionBlock(Tensor x, Tensor mask, Tensor keyPaddingMask) {
        return dropout1.forward(selfAttn.forward(x, x, x, mask, keyPaddingMask));
    }

    private Tensor feedForwardBlock(Tensor x) {
        Tensor hidden = linear1.forward(x);
        hidden = "gelu".equals(config.activation()) ? GeluExact.GELU.apply(hidden) : hidden.relu();
        return dropout2.forward(linear2.forward(dropout.forward(hidden)));
    }

    @Override
    public String describe() {
        return "TransformerEncoderLayer(d_model=" + config.dModel() + ", nhead=" + config.nhead() + ")";
    }
}
