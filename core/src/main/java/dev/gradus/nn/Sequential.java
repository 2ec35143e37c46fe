package dev.gradus.nn;

import dev.gradus.Anomaly;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs modules one after another; children are named {@code "0"}, {@code "1"}, ... as in PyTorch.
 *
 * <pre>{@code new Sequential(new Dense(784, 48), new ReLU(), new Dense(48, 10))}</pre>
 */
public class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    /** A model of {@code layers} in order. */
    public Sequential(Module... layers) {
        for (Module m : layers) {
            add(m);
        }
    }

    /** Appends a layer. */
    public Sequential add(Module m) {
        registerModule(Integer.toString(layers.size()), m);
        layers.add(m);
        return this;
    }

    /** The layers in order. */
    public List<Module> layers() {
        return List.copyOf(layers);
    }

    /** Runs the layers in order; runs that {@link Fusion} knows run as one op (same values and gradients). */
    @Override
    public Tensor forward(Tensor x) {
        Tensor h = x;
        for (int i = 0; i < layers.size(); i++) {
            boolean anomaly = Anomaly.isEnabled();
            if (anomaly) {
                Anomaly.enterLayer("layer " + i + " (" + layers.get(i).describe() + ")");
            }
            int at = i; // the layer an error is reported against
            try {
                Fusion.Step fused = Fusion.enabled() ? Fusion.at(layers, i, h) : null;
                if (fused != null) {
                    at = fused.blame();
                    h = fused.out();
                    i += fused.layers() - 1;
                } else {
                    h = layers.get(i).forward(h);
                }
            } catch (LayerException e) {
                throw e; // a nested Sequential already named its layer
            } catch (IllegalArgumentException e) {
                String d = layers.get(at).describe();
                String why = String.valueOf(e.getMessage());
                throw new LayerException(
                        at,
                        "layer " + at + (why.startsWith(d + ":") ? " " : " (" + d + "): ") + why
                                + (at > 0 ? " (the model's input was " + x.shape() + ")" : ""),
                        e);
            } finally {
                if (anomaly) {
                    Anomaly.exitLayer();
                }
            }
        }
        return h;
    }

    @Override
    public Shape outputShape(Shape input) {
        Shape s = input;
        for (Module m : layers) {
            s = m.outputShape(s);
        }
        return s;
    }
}
