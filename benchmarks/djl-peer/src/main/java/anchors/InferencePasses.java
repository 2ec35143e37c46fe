package anchors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;

/** The peers' inference measurement: pre-built test batches forwarded in eval mode, arg-max against the labels. */
final class InferencePasses {
    private InferencePasses() {}

    /**
     * Runs {@code passSec.length} passes over {@code batches} (each {@code batch} images, labelled by
     * {@code labels} in order), storing each pass's seconds in {@code passSec}; returns the last pass's correct count.
     */
    static int run(Block block, ParameterStore ps, NDManager manager, NDArray[] batches, int batch, int[] labels,
            double[] passSec) {
        int correct = 0;
        for (int pass = 0; pass < passSec.length; pass++) {
            long t0 = System.nanoTime();
            int c = 0;
            for (int b = 0; b < batches.length; b++) {
                try (NDManager sub = manager.newSubManager()) {
                    batches[b].tempAttach(sub);
                    NDArray out = block.forward(ps, new NDList(batches[b]), false).singletonOrThrow();
                    long[] pred = out.argMax(1).toLongArray();
                    for (int i = 0; i < batch; i++) if (pred[i] == labels[b * batch + i]) c++;
                }
            }
            passSec[pass] = (System.nanoTime() - t0) / 1e9;
            correct = c;
        }
        return correct;
    }
}
