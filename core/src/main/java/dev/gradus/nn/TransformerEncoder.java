package dev.gradus.nn;

import dev.gradus.Tensor;
import java.util.function.IntFunction;

/**
 * A stack of {@link TransformerEncoderLayer}s and an optional final norm, as PyTorch's {@code nn.TransformerEncoder};
 * the layers are children {@code layers.0}, {@code layers.1}, ... and the norm is {@code norm}, so names match
 * PyTorch's ({@code layers.0.self_attn.in_proj_weight}).
 *
 * <p>Shapes: those of its layers; output = input shape.
 *
 * <pre>{@code
 * var enc = new TransformerEncoder(4, i -> new TransformerEncoderLayer(backend, cfg, rng), null);
 * }</pre>
 */
public class TransformerEncoder extends Module {
    private final ModuleList layers;
    private final Module norm;

    /** {@code numLayers} layers made by {@code layer} (each its own weights), then {@code norm} (null: none). */
    public TransformerEncoder(int numLayers, IntFunction<TransformerEncoderLayer> layer, Module norm) {
        if (numLayers <= 0) {
            throw new IllegalArgumentException("TransformerEncoder: num_layers must be positive, got " + numLayers);
        }
        layers = registerModule("layers", new ModuleList());
        for (int i = 0; i < numLayers; i++) {
            layers.add(layer.apply(i));
        }
        this.norm = norm == null ? null : registerModule("norm", norm);
    }

    /** The layers. */
    public ModuleList layers() {
        return layers;
    }

    /** The final norm (null: none). */
    public Module norm() {
        return norm;
    }

    @Override
    public Tensor forward(Tensor x) {
        return forward(x, null, null);
    }

    /** Every layer with the same masks (null: none), then the norm. */
    public Tensor forward(Tensor x, Tensor mask, Tensor keyPaddingMask) {
        Tensor h = x;
        for (Module m : layers) {
            h = ((TransformerEncoderLayer) m).forward(h, mask, keyPaddingMask);
        }
        return norm == null ? h : norm.forward(h);
    }
}
