package anchors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * PyTorch's {@code nn.TransformerEncoderLayer(d, heads, ff, dropout, activation="gelu", batch_first=True,
 * norm_first=True)}, as Gradus's {@code TransformerEncoderLayer} computes it, composed from DJL blocks and NDArray ops
 * (DJL's own TransformerEncoderBlock is BERT-style: post-norm, another GELU):
 * x + drop1(outProj(attn(norm1(x)))), then x + drop2(linear2(drop(gelu(linear1(norm2(x)))))), where attn is
 * softmax(q k^T / sqrt(d / heads)) with dropout on the weights, times v, per head.
 *
 * <p>Shapes: [N, T, d] -> [N, T, d]. Initialisation as PyTorch's: the in-projection [3d, d] Xavier-uniform with zero
 * bias, out_proj uniform +-1/sqrt(d) with zero bias, linear1/linear2 PyTorch's Linear default, norms ones and zeros.
 */
final class PreNormEncoderLayer extends AbstractBlock {
    private final int dim;
    private final int heads;
    private final int ff;
    private final float p;
    private final LayerNorm norm1;
    private final Linear inProj;
    private final Linear outProj;
    private final LayerNorm norm2;
    private final Linear linear1;
    private final Linear linear2;

    PreNormEncoderLayer(int dim, int heads, int ff, float dropout) {
        this.dim = dim;
        this.heads = heads;
        this.ff = ff;
        this.p = dropout;
        norm1 = addChildBlock("norm1", LayerNorm.builder().axis(2).optEpsilon(1e-5f).build());
        // q, k and v in one [3d, d] projection (Gradus runs its three row blocks as three matmuls: the same FLOPs)
        inProj = addChildBlock("in_proj", TorchInit.uniform(
                Linear.builder().setUnits(3L * dim).build(), Math.sqrt(6.0 / (dim + 3.0 * dim)), 0));
        outProj = addChildBlock("out_proj", TorchInit.uniform(
                Linear.builder().setUnits(dim).build(), 1 / Math.sqrt(dim), 0));
        norm2 = addChildBlock("norm2", LayerNorm.builder().axis(2).optEpsilon(1e-5f).build());
        linear1 = addChildBlock("linear1", TorchInit.pytorch(Linear.builder().setUnits(ff).build(), dim));
        linear2 = addChildBlock("linear2", TorchInit.pytorch(Linear.builder().setUnits(dim).build(), ff));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        long n = x.getShape().get(0);
        long t = x.getShape().get(1);
        long hd = dim / heads;

        NDArray a = norm1.forward(ps, new NDList(x), training).head();
        NDArray qkv = inProj.forward(ps, new NDList(a), training).head(); // [N, T, 3d]
        NDArray q = split(qkv.get(":, :, 0:" + dim), n, t, hd);
        NDArray k = split(qkv.get(":, :, " + dim + ":" + 2 * dim), n, t, hd);
        NDArray v = split(qkv.get(":, :, " + 2 * dim + ":"), n, t, hd);
        NDArray w = q.matMul(k.transpose(0, 1, 3, 2)).mul(1.0 / Math.sqrt(hd)).softmax(-1); // [N, h, T, T]
        w = Dropout.dropout(w, p, training).head();
        NDArray ctx = w.matMul(v).transpose(0, 2, 1, 3).reshape(n, t, dim); // [N, T, d]
        NDArray att = outProj.forward(ps, new NDList(ctx), training).head();
        x = x.add(Dropout.dropout(att, p, training).head());

        NDArray b = norm2.forward(ps, new NDList(x), training).head();
        NDArray h = Activation.gelu(linear1.forward(ps, new NDList(b), training).head()); // exact (erf) GELU
        h = Dropout.dropout(h, p, training).head();
        h = linear2.forward(ps, new NDList(h), training).head();
        return new NDList(x.add(Dropout.dropout(h, p, training).head()));
    }

    /** [N, T, d] as [N, heads, T, d / heads]. */
    private NDArray split(NDArray x, long n, long t, long hd) {
        return x.reshape(n, t, heads, hd).transpose(0, 2, 1, 3);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape s = inputShapes[0];
        Shape hidden = new Shape(s.get(0), s.get(1), ff);
        norm1.initialize(manager, dataType, s);
        inProj.initialize(manager, dataType, s);
        outProj.initialize(manager, dataType, s);
        norm2.initialize(manager, dataType, s);
        linear1.initialize(manager, dataType, s);
        linear2.initialize(manager, dataType, hidden);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
