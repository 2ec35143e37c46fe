package anchors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/**
 * Gradus's {@code VisionTransformer}: patch = Conv2d(1, 64, 7, stride 7) -> 16 tokens [N, 16, 64]; cls_token
 * [1, 1, 64] in front, pos_embed [1, 17, 64] added; 4 {@link PreNormEncoderLayer}s (4 heads, feed-forward 128, GELU,
 * dropout 0.1); LayerNorm(64) on the class token; Linear(64, 10). x [N, 1, 28, 28] -> logits [N, 10].
 * Initialisation as Gradus's: tokens normal(0, 0.02), conv and head PyTorch's default.
 */
final class VitBlock extends AbstractBlock {
    static final int DIM = 64;
    static final int LAYERS = 4;

    private final Conv2d patch;
    private final Parameter clsToken;
    private final Parameter posEmbed;
    private final PreNormEncoderLayer[] encoder = new PreNormEncoderLayer[LAYERS];
    private final LayerNorm norm;
    private final Linear head;

    VitBlock() {
        patch = addChildBlock("patch", TorchInit.pytorch(Conv2d.builder().setKernelShape(new Shape(7, 7))
                .optStride(new Shape(7, 7)).setFilters(DIM).build(), 7 * 7));
        clsToken = addParameter(Parameter.builder().setName("cls_token").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(1, 1, DIM)).optInitializer(new NormalInitializer(0.02f)).build());
        posEmbed = addParameter(Parameter.builder().setName("pos_embed").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(1, 17, DIM)).optInitializer(new NormalInitializer(0.02f)).build());
        for (int i = 0; i < LAYERS; i++) {
            encoder[i] = addChildBlock("encoder" + i, new PreNormEncoderLayer(DIM, 4, 128, 0.1f));
        }
        norm = addChildBlock("norm", LayerNorm.builder().axis(1).optEpsilon(1e-5f).build());
        head = addChildBlock("head", TorchInit.pytorch(Linear.builder().setUnits(10).build(), DIM));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        long n = x.getShape().get(0);
        NDArray patches = patch.forward(ps, new NDList(x.reshape(n, 1, 28, 28)), training).head(); // [N, 64, 4, 4]
        NDArray tokens = patches.reshape(n, DIM, 16).transpose(0, 2, 1); // [N, 16, 64]
        // An op's result belongs to the manager of the array it is called on; the parameters' manager lives as
        // long as the model, so the broadcast token moves to the batch's manager (else every step's activations
        // downstream of it would stay alive until the model closes).
        NDArray cls = ps.getValue(clsToken, x.getDevice(), training).broadcast(n, 1, DIM);
        cls.attach(x.getManager());
        NDArray seq = NDArrays.concat(new NDList(cls, tokens), 1)
                .add(ps.getValue(posEmbed, x.getDevice(), training)); // [N, 17, 64]
        for (PreNormEncoderLayer layer : encoder) {
            seq = layer.forward(ps, new NDList(seq), training).head();
        }
        NDArray first = seq.get(":, 0, :"); // [N, 64]
        return head.forward(ps, norm.forward(ps, new NDList(first), training), training);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        long n = inputShapes[0].get(0);
        patch.initialize(manager, dataType, new Shape(n, 1, 28, 28));
        for (PreNormEncoderLayer layer : encoder) {
            layer.initialize(manager, dataType, new Shape(n, 17, DIM));
        }
        norm.initialize(manager, dataType, new Shape(n, DIM));
        head.initialize(manager, dataType, new Shape(n, DIM));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), 10)};
    }
}
