package dev.gradus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.metrics.History;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.testing.ScopePerTest;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link EarlyStopping}'s rule (Keras' semantics: patience, minDelta, mode) on a fed sequence of epoch rows. */
@ExtendWith(ScopePerTest.class)
class EarlyStoppingTest {
    private static int epochsUntilStop(EarlyStopping s, String key, double... values) {
        for (int i = 0; i < values.length; i++) {
            s.onEpoch(Map.of(key, values[i]));
            if (s.stopTraining()) {
                return i + 1;
            }
        }
        return -1;
    }

    @Test
    void patienceMinDeltaAndModes() {
        try (Dense d = new Dense(CpuBackendProvider.get(), 1, 1, true, Init.PYTORCH, new Rng(1))) {
            // Loss (MIN): best at epoch 2; epochs 3, 4, 5 do not improve; patience 3 stops at 5.
            EarlyStopping loss =
                    new EarlyStopping(d, EarlyStopping.Config.of("valid_loss").withPatience(3));
            assertEquals(5, epochsUntilStop(loss, "valid_loss", 1.0, 0.5, 0.6, 0.5, 0.7, 0.1));
            assertEquals(2, loss.bestEpoch());
            assertEquals(0.5, loss.best());
            // Accuracy is MAX by its name; patience 0 stops at the first epoch without improvement.
            EarlyStopping acc = new EarlyStopping(d, EarlyStopping.Config.of("valid_accuracy"));
            assertEquals(3, epochsUntilStop(acc, "valid_accuracy", 0.5, 0.7, 0.6));
            // minDelta: an improvement of 0.001 does not count (patience 2: the second epoch without one stops).
            EarlyStopping delta = new EarlyStopping(
                    d, EarlyStopping.Config.of("valid_loss").withPatience(2).withMinDelta(0.01));
            assertEquals(3, epochsUntilStop(delta, "valid_loss", 1.0, 0.999, 0.998));
            // NaN never improves; an explicit mode wins over the name.
            EarlyStopping nan = new EarlyStopping(
                    d,
                    EarlyStopping.Config.of("valid_loss")
                            .withMode(EarlyStopping.Mode.MAX)
                            .withPatience(1));
            assertEquals(2, epochsUntilStop(nan, "valid_loss", 1.0, Double.NaN, 0.5));
            assertTrue(nan.stopReason().contains("valid_loss did not improve"), nan.stopReason());
        }
    }

    @Test
    void restoresTheBestEpochsWeightsAtTheEnd() {
        try (Dense d = new Dense(CpuBackendProvider.get(), 2, 1, true, Init.PYTORCH, new Rng(1))) {
            EarlyStopping s = new EarlyStopping(
                    d, EarlyStopping.Config.of("valid_loss").withPatience(5).restoringBestWeights());
            float[] atBest = d.weight().toFloatArray();
            s.onEpoch(Map.of("valid_loss", 0.1));
            d.weight().copyFrom(dev.gradus.Tensor.of(d.weight().backend(), new float[] {7, 8}, 1, 2));
            s.onEpoch(Map.of("valid_loss", 0.2));
            assertFalse(s.stopTraining());
            s.onTrainEnd(new History());
            assertEquals(atBest[0], d.weight().toFloatArray()[0]);
            assertEquals(atBest[1], d.weight().toFloatArray()[1]);
        }
    }

    @Test
    void aMonitorNotInTheRowIsNamedWithTheKeysThereAre() {
        try (Dense d = new Dense(CpuBackendProvider.get(), 1, 1, true, Init.PYTORCH, new Rng(1))) {
            EarlyStopping s = new EarlyStopping(d, EarlyStopping.Config.of("val_loss"));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> s.onEpoch(Map.of("valid_loss", 1.0)));
            assertTrue(e.getMessage().contains("'val_loss'") && e.getMessage().contains("valid_loss"), e.getMessage());
        }
    }
}
