package dev.gradus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.TensorDataset;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.SGD;
import dev.gradus.spi.Backend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Training#fit} on a float-target data set: a regression with its own loss and metrics, early stopping on
 * the validation loss with the best weights put back; and a listener that stops the run keeps its history.
 */
class RegressionTrainingTest {
    private final Backend cpu = CpuBackendProvider.get();

    /** {@code y = 3 x0 - 2 x1 + 1} plus Gaussian noise of standard deviation 0.1. */
    static TensorDataset line(String name, int n, long seed) {
        Rng rng = new Rng(seed);
        float[] x = new float[n * 2];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[2 * i] = (float) rng.nextGaussian();
            x[2 * i + 1] = (float) rng.nextGaussian();
            y[i] = (float) (3 * x[2 * i] - 2 * x[2 * i + 1] + 1 + 0.1 * rng.nextGaussian());
        }
        return new TensorDataset(name, x, new int[] {2}, y, new int[] {1});
    }

    private Training.Config config(Sequential model, int epochs, PrintStream log) {
        SGD opt = new SGD(model.parameters(), SGD.Config.lr(0.02f));
        return Training.Config.of(
                        model,
                        opt,
                        new DataLoader(line("train", 512, 1), 32).shuffle(2),
                        new DataLoader(line("valid", 256, 3), 64),
                        epochs)
                .withHeldOut("valid")
                .withBackend(cpu)
                .withLog(log);
    }

    @Test
    void aRegressionTrainsWithItsLossAndMetricsAndStopsEarlyAtItsBestWeights() {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        try (Sequential model = new Sequential(new Dense(cpu, 2, 1, true, Init.PYTORCH, new Rng(4)))) {
            EarlyStopping stop = new EarlyStopping(
                    model,
                    EarlyStopping.Config.of("valid_loss")
                            .withPatience(3)
                            .withMinDelta(1e-5)
                            .restoringBestWeights());
            Training.Config c = config(model, 200, new PrintStream(text, true, StandardCharsets.UTF_8))
                    .withLoss(Loss.mse())
                    .withMetrics(List.of(Metrics.mae(), Metrics.rmse()))
                    .withListeners(List.of(stop));
            Training.Result r = Training.fit(c);
            String log = text.toString(StandardCharsets.UTF_8);

            assertNotNull(r.stopped(), "should stop before 200 epochs:\n" + log);
            int ran = r.history().epochs().size();
            assertTrue(ran < 200 && ran >= stop.bestEpoch() + 3, ran + " epochs, best " + stop.bestEpoch());
            assertTrue(
                    log.contains(" mae ") && log.contains(" rmse ") && log.contains("stopped after epoch " + ran), log);
            assertTrue(
                    r.history().epochs().get(0).containsKey("valid_rmse"),
                    r.history().columns().toString());
            Map<String, Double> bestRow = r.history().epochs().get(stop.bestEpoch() - 1);
            assertTrue(bestRow.get("valid_mae") < 0.12, "MAE " + bestRow.get("valid_mae") + " (noise 0.1: ~0.08)");
            assertTrue(Double.isNaN(r.testAccuracy()), "no accuracy for a regression");

            // The model holds the best epoch's weights: evaluating it gives that epoch's loss again.
            Evaluation.Outcome again = Evaluation.evaluate(model, c.test(), cpu, Loss.mse(), List.of(Metrics.mae()));
            assertEquals(stop.best(), again.loss(), 1e-6);
            assertEquals(bestRow.get("valid_mae"), again.metrics().get("mae"), 1e-6);
        }
    }

    @Test
    void floatTargetsWithTheDefaultLossFailAtTheFirstStepNamingTheFix() {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        try (Sequential model = new Sequential(new Dense(cpu, 2, 1, true, Init.PYTORCH, new Rng(4)))) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> Training.fit(config(model, 3, new PrintStream(text, true, StandardCharsets.UTF_8))));
            assertTrue(e.getMessage().contains("Loss.mse()") && e.getMessage().contains("[32, 1]"), e.getMessage());
            assertFalse(text.toString(StandardCharsets.UTF_8).contains("   1  "), "no epoch should have run");
        }
    }

    @Test
    void aListenerStopsTheRunCleanlyAndTheHistoryStays() {
        try (Sequential model = new Sequential(new Dense(cpu, 2, 1, true, Init.PYTORCH, new Rng(4)))) {
            Training.Listener afterTwo = new Training.Listener() {
                int epochs;

                @Override
                public void onEpoch(Map<String, Double> row) {
                    epochs++;
                }

                @Override
                public boolean stopTraining() {
                    return epochs == 2;
                }

                @Override
                public String stopReason() {
                    return "two is enough";
                }
            };
            Training.Result r = Training.fit(config(model, 10, new PrintStream(new ByteArrayOutputStream()))
                    .withLoss(Loss.mse())
                    .withMetrics(List.of())
                    .withListeners(List.of(afterTwo)));
            assertEquals(2, r.history().epochs().size());
            assertEquals("two is enough", r.stopped());
            assertEquals(2, r.trainLoss().size());
        }
    }
}
