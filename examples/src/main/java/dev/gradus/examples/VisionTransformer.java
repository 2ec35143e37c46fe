package dev.gradus.examples;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.LayerNorm;
import dev.gradus.nn.Module;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.TransformerEncoder;
import dev.gradus.nn.TransformerEncoderLayer;
import dev.gradus.onnx.OnnxExportable;
import dev.gradus.onnx.OnnxGraph;
import java.util.List;

/**
 * A small vision transformer for 28x28 digits, with the parameter names a PyTorch version of it has:
 * {@code patch} ({@code Conv2d(1, 64, 7, stride 7)}: 16 patches), a learned {@code cls_token [1, 1, 64]} put in front,
 * {@code pos_embed [1, 17, 64]} added, {@code encoder} (4 pre-norm {@code TransformerEncoderLayer}s: 4 heads,
 * feed-forward 128, GELU, dropout 0.1, batch first), {@code norm} ({@code LayerNorm(64)}) on the class token and
 * {@code head} ({@code Linear(64, 10)}).
 *
 * <p>Shapes: {@code x [N, 1, 28, 28]} to logits {@code [N, 10]}. Exported to ONNX as its forward, step for step.
 */
public final class VisionTransformer extends Module implements OnnxExportable {
    /** Width of every token. */
    public static final int DIM = 64;

    private final Conv2d patch;
    private final Parameter clsToken;
    private final Parameter posEmbed;
    private final TransformerEncoder encoder;
    private final LayerNorm norm;
    private final Dense head;

    /** The model, initialised from {@code rng} (the tokens as ViT's: normal with standard deviation 0.02). */
    public VisionTransformer(Device device, Rng rng) {
        patch = registerModule(
                "patch", new Conv2d(device, Conv2d.Config.of(1, DIM, 7).withStride(7), rng));
        clsToken = registerParameter("cls_token", normal(device, rng, 0.02f, 1, 1, DIM));
        posEmbed = registerParameter("pos_embed", normal(device, rng, 0.02f, 1, 17, DIM));
        TransformerEncoderLayer.Config layer = TransformerEncoderLayer.Config.of(DIM, 4)
                .withFeedforward(128)
                .withDropout(0.1f)
                .withActivation("gelu")
                .withBatchFirst()
                .withNormFirst();
        encoder = registerModule(
                "encoder",
                new TransformerEncoder(4, i -> new TransformerEncoderLayer(Backends.of(device), layer, rng), null));
        norm = registerModule("norm", new LayerNorm(Backends.of(device), LayerNorm.Config.of(DIM)));
        head = registerModule("head", new Dense(device, DIM, 10, true, Init.PYTORCH, rng));
    }

    private static Tensor normal(Device device, Rng rng, float std, int... shape) {
        float[] v = new float[Shape.of(shape).numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextGaussian() * std;
        }
        return Tensor.of(device, v, shape);
    }

    @Override
    public Tensor forward(Tensor x) {
        int n = x.shape().dim(0);
        if (x.numel() != n * 28 * 28) {
            throw new IllegalArgumentException("VisionTransformer: expected images [N, 1, 28, 28], got " + x.shape());
        }
        Tensor patches = patch.forward(x.reshape(n, 1, 28, 28)); // [N, 64, 4, 4]
        Tensor tokens = patches.reshape(n, DIM, 16).transpose(1, 2); // [N, 16, 64]
        Tensor seq = Tensor.cat(List.of(clsToken.expand(n, 1, DIM), tokens), 1).add(posEmbed); // [N, 17, 64]
        Tensor encoded = encoder.forward(seq);
        return head.forward(norm.forward(encoded.narrow(1, 0, 1).squeeze(1)));
    }

    /** The same steps as {@link #forward}, as ONNX nodes. */
    @Override
    public OnnxGraph.Value toOnnx(OnnxGraph graph, OnnxGraph.Value x, String name) {
        int n = x.shape().dim(0);
        if (x.shape().numel() != n * 28 * 28) {
            throw new IllegalArgumentException("VisionTransformer: expected images [N, 1, 28, 28], got " + x.shape());
        }
        OnnxGraph.Value patches = graph.module(patch, graph.reshape(x, n, 1, 28, 28), name + "_patch");
        OnnxGraph.Value tokens = graph.transpose(graph.reshape(patches, n, DIM, 16), 1, 2);
        OnnxGraph.Value cls = graph.expandBatch(graph.parameter(name + "_cls_token", clsToken), tokens);
        OnnxGraph.Value seq =
                graph.add(graph.cat(List.of(cls, tokens), 1), graph.parameter(name + "_pos_embed", posEmbed));
        OnnxGraph.Value encoded = graph.module(encoder, seq, name + "_encoder");
        OnnxGraph.Value first = graph.squeeze(graph.narrow(encoded, 1, 0, 1), 1);
        return graph.module(head, graph.module(norm, first, name + "_norm"), name + "_head");
    }

    @Override
    public String describe() {
        return "VisionTransformer";
    }
}
