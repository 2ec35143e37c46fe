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

    @Override
    public Tensor forward(Tensor x) {
        Tensor h = x;
        for (int i = 0; i < layers.size(); i++) {
            boolean anomaly = Anomaly.isEnabled();
            if (anomaly) {
                Anomaly.enterLayer("layer " + i + " (" + layers.get(i).describe() + ")");
            }
            // Anomaly mode names each layer, and a summary wants each layer's own output: neither fuses.
            boolean fuse = FUSE && !anomaly && !SummaryTrace.active();
            int at = i; // the layer an error is reported against
            try {
                if (fuse
                        && isPlain(i, Conv2d.class)
                        && isPlain(i + 1, ReLU.class)
                        && isPlain(i + 2, MaxPool2d.class)
                        && poolsToSomething(i, h.shape())) {
                    // Three layers, one op: ReLU inside the convolution, its gradient on the pooled output.
                    h = ((Conv2d) layers.get(i)).forwardReluMaxPool(h, (MaxPool2d) layers.get(i + 2));
                    i += 2;
                    continue;
                }
                if (fuse && isPlain(i, ReLU.class) && isPlain(i + 1, MaxPool2d.class)) {
                    at = i + 1;
                    // max(relu(x)) = relu(max(x)) with the same gradient (both reach the window's first maximum,
                    // masked by its sign), and the second form applies ReLU and its gradient to a 4x smaller tensor.
                    h = layers.get(i + 1).forward(h).relu();
                    i++;
                    continue;
                }
                if (fuse
                        && isPlain(i, Conv2d.class)
                        && isPlain(i + 1, ReLU.class)
                        && !isPlain(i + 2, MaxPool2d.class)) {
                    // Conv2d then ReLU in one pass over the activation instead of two (the values are the same).
                    h = ((Conv2d) layers.get(i)).forwardRelu(h);
                    i++;
                    continue;
                }
                h = layers.get(i).forward(h);
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

    /** {@code -Dgradus.fuseLayers=false} runs every layer on its own (for ablations and for bisecting a bug). */
    private static final boolean FUSE = !"false".equalsIgnoreCase(System.getProperty("gradus.fuseLayers"));

    /**
     * Whether the pooling two layers after convolution {@code i} has at least one output pixel for {@code input};
     * if not, the layers run one by one so the error names the pooling layer.
     */
    private boolean poolsToSomething(int i, Shape input) {
        Shape pooled = layers.get(i + 2).outputShape(layers.get(i).outputShape(input));
        return pooled.dim(2) >= 1 && pooled.dim(3) >= 1;
    }

    /** Layer {@code i} exists and is exactly a {@code type} (not a subclass that may change {@code forward}). */
    private boolean isPlain(int i, Class<? extends Module> type) {
        return i < layers.size() && layers.get(i).getClass() == type;
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
