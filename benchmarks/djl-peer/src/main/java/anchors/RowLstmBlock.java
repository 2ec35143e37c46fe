package anchors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.recurrent.LSTM;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Gradus's {@code RowLstm}: x [N, 28, 28] (28 rows of 28 pixels) -> LSTM(28, hidden, batch first, one layer) ->
 * the last step's hidden state [N, hidden] -> Linear(hidden, 10). DJL's LSTM runs PyTorch's fused {@code torch.lstm}.
 * Initialisation as PyTorch's (and Gradus's): every LSTM weight and bias, and the head's, uniform in +-1/sqrt(hidden).
 */
final class RowLstmBlock extends AbstractBlock {
    private final int hidden;
    private final LSTM lstm;
    private final Linear head;

    RowLstmBlock(int hidden) {
        this.hidden = hidden;
        lstm = addChildBlock("lstm", TorchInit.pytorch(
                LSTM.builder().setStateSize(hidden).setNumLayers(1).optBatchFirst(true).optReturnState(false).build(),
                hidden));
        head = addChildBlock("head", TorchInit.pytorch(Linear.builder().setUnits(10).build(), hidden));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        long n = x.getShape().get(0);
        NDArray steps = lstm.forward(ps, new NDList(x.reshape(n, 28, 28)), training).head(); // [N, 28, H]
        NDArray last = steps.get(":, -1, :"); // [N, H]
        return head.forward(ps, new NDList(last), training);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        long n = inputShapes[0].get(0);
        lstm.initialize(manager, dataType, new Shape(n, 28, 28));
        head.initialize(manager, dataType, new Shape(n, hidden));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), 10)};
    }
}
