package anchors;

import java.util.Arrays;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Adam;
import ai.djl.training.optimizer.AdamW;
import ai.djl.training.optimizer.Optimizer;

/**
 * The sequence models of Gradus's examples in DJL (PyTorch engine): {@code lstm} ({@link RowLstmBlock}: Adam,
 * StepLR(7, 0.1)) and {@code vit} ({@link VitBlock}: AdamW weight decay 0.05, one-cycle warmup-cosine per batch).
 * Inputs pixel/255, batch 128 reshuffled every epoch (last partial batch kept), softmax cross-entropy, seed 42.
 *
 * <p>Per epoch: training seconds (the loop only, as Gradus's time column), mean train loss, test loss and accuracy
 * (eval mode, batches of 1000, not timed). Then the inference passes and RESULT line of {@link DjlBench}.
 * Environment: EPOCHS (default: the spec's 2; Gradus's examples default to 10), MAX_STEPS (cut every epoch after
 * that many steps, for a quick check; off by default), LOG_EVERY (print the mean loss every so many steps; default
 * 50 with MAX_STEPS, else off), DUMP_PARAMS (print every parameter's shape and range after initialisation), INFER_PASSES (inference passes over the test set, default 21 as DjlBench).
 */
final class SeqBench {
    private SeqBench() {}

    static void run(Idx.Spec spec, String root) throws Exception {
        boolean vit = spec.name.equals("vit");
        int epochs = envInt("EPOCHS", spec.epochs);
        int maxSteps = envInt("MAX_STEPS", 0);
        int logEvery = envInt("LOG_EVERY", maxSteps > 0 ? 50 : 0);
        int inferPasses = envInt("INFER_PASSES", 21);

        DjlBench.startEngine();

        Idx.Split train = Idx.load(root, spec.dataset, "train");
        Idx.Split test = Idx.load(root, spec.dataset, "t10k");
        int batchesPerEpoch = (train.n + spec.batch - 1) / spec.batch;

        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            // lstm: [N, 28, 28] (28 rows of 28 pixels); vit: [N, 1, 28, 28]
            Shape one = vit ? new Shape(1, 28, 28) : new Shape(28, 28);
            ArrayDataset ds = DjlBench.trainingSet(manager, train, one, spec.batch);

            Schedule schedule = vit ? Schedule.oneCycle(spec.lr, epochs * batchesPerEpoch) : Schedule.step(spec.lr);
            schedule.set(0, 0);
            Optimizer optimizer = vit
                    ? AdamW.builder().optLearningRateTracker(schedule.tracker()).optWeightDecays(0.05f).build()
                    : Adam.builder().optLearningRateTracker(schedule.tracker()).build();
            Block block = vit ? new VitBlock() : new RowLstmBlock(spec.hidden);

            try (Model model = Model.newInstance(spec.name, Device.cpu(), "PyTorch")) {
                model.setBlock(block);
                DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                        .optOptimizer(optimizer) // initialisers: set on the blocks' parameters (TorchInit)
                        .optDevices(new Device[] {Device.cpu()});
                try (Trainer trainer = model.newTrainer(cfg)) {
                    trainer.initialize(new Shape(1).addAll(one));
                    long count = 0;
                    for (var pair : block.getParameters()) {
                        NDArray a = pair.getValue().getArray();
                        count += a.size();
                        if (System.getenv("DUMP_PARAMS") != null) { // check the initialisation
                            System.out.printf("  %s %s %s min=%.4f max=%.4f std=%.4f%n", pair.getKey(),
                                    pair.getValue().getType(), a.getShape(), a.min().getFloat(), a.max().getFloat(),
                                    Math.sqrt(a.sub(a.mean()).square().mean().getFloat()));
                        }
                    }
                    System.out.printf("model=%s parameters=%d batch=%d lr=%s %s epochs=%d batches/epoch=%d%s%n",
                            spec.name, count, spec.batch, spec.lr,
                            vit ? "AdamW(wd 0.05) one-cycle" : "Adam StepLR(7, 0.1)", epochs, batchesPerEpoch,
                            maxSteps > 0 ? " MAX_STEPS=" + maxSteps + " (epochs cut short)" : "");

                    int ib = 1000, nTestB = test.n / ib;
                    NDArray[] tx = new NDArray[nTestB];
                    NDArray[] ty = new NDArray[nTestB];
                    for (int b = 0; b < nTestB; b++) {
                        float[] xb = Arrays.copyOfRange(test.x, b * ib * 784, (b + 1) * ib * 784);
                        tx[b] = manager.create(xb, new Shape(ib).addAll(one));
                        float[] yb = new float[ib];
                        for (int i = 0; i < ib; i++) yb[i] = test.y[b * ib + i];
                        ty[b] = manager.create(yb, new Shape(ib));
                    }
                    ParameterStore ps = new ParameterStore(manager, false);

                    double[] epochSec = new double[epochs];
                    double[] others = new double[epochs];
                    double[] trainLoss = new double[epochs];
                    double[] testAcc = new double[epochs];
                    int global = 0;
                    for (int e = 0; e < epochs; e++) {
                        long[] c0 = Idx.cpuSnap();
                        long t0 = System.nanoTime();
                        int steps = 0;
                        double lossSum = 0, windowSum = 0;
                        for (Batch batch : trainer.iterateDataset(ds)) {
                            schedule.set(e, global);
                            float loss;
                            try (GradientCollector gc = trainer.newGradientCollector()) {
                                NDList preds = trainer.forward(batch.getData(), batch.getLabels());
                                NDArray l = trainer.getLoss().evaluate(batch.getLabels(), preds);
                                gc.backward(l);
                                loss = l.getFloat();
                            }
                            trainer.step();
                            batch.close();
                            lossSum += loss;
                            windowSum += loss;
                            steps++;
                            global++;
                            if (logEvery > 0 && steps % logEvery == 0) {
                                System.out.printf("  step %d: mean loss of the last %d %.4f (lr %.3g, %.1f s)%n",
                                        steps, logEvery, windowSum / logEvery, schedule.current(),
                                        (System.nanoTime() - t0) / 1e9);
                                windowSum = 0;
                            }
                            if (maxSteps > 0 && steps >= maxSteps) break;
                        }
                        epochSec[e] = (System.nanoTime() - t0) / 1e9;
                        others[e] = Idx.othersPct(c0, Idx.cpuSnap());
                        trainLoss[e] = lossSum / Math.max(1, steps);
                        double[] eval = evaluate(block, ps, manager, tx, ty, test.y, trainer.getLoss());
                        testAcc[e] = eval[1];
                        System.out.printf("epoch %d: %.3f s (%d steps) train_loss=%.4f test_loss=%.4f test_acc=%.4f"
                                        + " othersCPU=%.1f%%%n",
                                e + 1, epochSec[e], steps, trainLoss[e], eval[0], eval[1], others[e]);
                    }

                    // inference as DjlBench: 10 pre-built batches of 1000, forward + argmax, eval mode
                    double[] passSec = new double[Math.max(2, inferPasses)]; // pass 0 = warm-up, median of the rest
                    long[] ci = Idx.cpuSnap();
                    int correct = InferencePasses.run(block, ps, manager, tx, ib, test.y, passSec);
                    double othersInfer = Idx.othersPct(ci, Idx.cpuSnap());
                    double[] warm = Arrays.copyOfRange(passSec, 1, passSec.length);
                    double[] rest = epochs > 1 ? Arrays.copyOfRange(epochSec, 1, epochs) : epochSec;
                    System.out.printf("RESULT peer=djl-pytorch model=%s epochs=%d epoch1=%.3fs median_epoch_excl_first=%.3fs "
                                    + "test_acc=%.4f infer_first_pass=%.0f img/s infer_median=%.0f img/s%s%n",
                            spec.name, epochs, epochSec[0], Idx.median(rest), correct / (double) test.n,
                            test.n / passSec[0], test.n / Idx.median(warm),
                            maxSteps > 0 ? " max_steps=" + maxSteps : "");
                    System.out.println("epoch_seconds=" + Arrays.toString(epochSec));
                    System.out.println("train_loss_per_epoch=" + Arrays.toString(trainLoss));
                    System.out.println("test_acc_per_epoch=" + Arrays.toString(testAcc));
                    System.out.println("others_cpu_pct_per_epoch=" + Arrays.toString(others)
                            + " others_cpu_pct_inference=" + othersInfer);
                    System.out.println("inference_pass_seconds=" + Arrays.toString(passSec));
                    System.out.println("threads: intraOp=" + JniUtils.getNumThreads() + " interOp=" + JniUtils.getNumInteropThreads());
                }
            }
        }
    }

    /** {mean test loss, test accuracy} over the pre-built test batches, eval mode. */
    private static double[] evaluate(Block block, ParameterStore ps, NDManager manager, NDArray[] tx, NDArray[] ty,
            int[] labels, Loss loss) {
        double lossSum = 0;
        int correct = 0, seen = 0;
        for (int b = 0; b < tx.length; b++) {
            try (NDManager sub = manager.newSubManager()) {
                tx[b].tempAttach(sub);
                ty[b].tempAttach(sub);
                NDList out = block.forward(ps, new NDList(tx[b]), false);
                lossSum += loss.evaluate(new NDList(ty[b]), out).getFloat();
                long[] pred = out.singletonOrThrow().argMax(1).toLongArray();
                for (int i = 0; i < pred.length; i++) if (pred[i] == labels[seen + i]) correct++;
                seen += pred.length;
            }
        }
        return new double[] {lossSum / tx.length, correct / (double) seen};
    }

    private static int envInt(String name, int fallback) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) return fallback;
        int n = Integer.parseInt(v.trim());
        if (n < 0) throw new IllegalArgumentException(name + " must be >= 0, got " + v);
        return n;
    }
}
