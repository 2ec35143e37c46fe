package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Anomaly;
import dev.gradus.AnomalyException;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Anomaly mode: the op that first made a NaN or an infinity named, in the forward pass and in backward; in a model,
 * the layer named, and a non-finite input blamed on the data; off again once its guard closes. Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface AnomalyConformance extends SuiteHelpers {
    @Test
    default void anomalyModeNamesTheOpThatMadeTheFirstNaN() {
        Tensor x = t(new float[] {1, -2, 3}, 3).requiresGrad(true);
        assertTrue(Float.isNaN(x.log().toFloatArray()[1]), "off by default: NaN flows on silently");
        try (Anomaly a = Anomaly.detect()) {
            Tensor y = x.mul(2f);
            var e = assertThrows(AnomalyException.class, () -> y.log());
            assertEquals("log", e.op());
            assertTrue(
                    e.getMessage().contains("'log' produced NaN (first at flat index 1) in its output [3]")
                            && e.getMessage().contains("were all finite"),
                    e.getMessage());
        }
        assertTrue(Float.isNaN(x.mul(2f).log().toFloatArray()[1]), "off again once the guard closed");
    }

    @Test
    default void anomalyModeNamesTheLayerAndBlamesNonFiniteData() {
        try (Sequential m = new Sequential(
                        new Dense(suiteBackend(), 3, 2, true, Init.PYTORCH, new Rng(3)),
                        new ReLU(),
                        new Dense(suiteBackend(), 2, 2, true, Init.PYTORCH, new Rng(4)));
                Anomaly a = Anomaly.detect()) {
            fill(m.namedParameters().get("0.weight"), 1f); // layer 0 gives 3 and 6, finite
            fill(m.namedParameters().get("2.weight"), 3e38f); // layer 2 overflows
            Tensor x = t(new float[] {1, 1, 1, 2, 2, 2}, 2, 3);
            var e = assertThrows(AnomalyException.class, () -> m.forward(x));
            assertTrue(e.layer().startsWith("layer 2 (Dense"), e.getMessage());
            assertTrue(
                    e.getMessage().contains("Infinity") && e.getMessage().contains("in layer 2 (Dense"),
                    e.getMessage());
            Tensor bad = t(new float[] {1, Float.NaN, 1, 2, 2, 2}, 2, 3);
            var e2 = assertThrows(AnomalyException.class, () -> m.forward(bad));
            assertTrue(
                    e2.getMessage().contains("layer 0 (Dense")
                            && e2.getMessage()
                                    .contains("input 0 [2, 3]"
                                            + " already held NaN (first at flat index 1): it is data or a parameter"),
                    e2.getMessage());
        }
    }

    private static void fill(Tensor w, float v) {
        float[] values = new float[w.numel()];
        Arrays.fill(values, v);
        w.backend().write(w.operand().storage(), w.layout().offset(), values, 0, values.length);
    }

    @Test
    default void anomalyModeChecksGradientsInBackward() {
        Tensor x = t(new float[] {4, 0, 9}, 3).requiresGrad(true);
        try (Anomaly a = Anomaly.detect()) {
            Tensor loss = x.sqrt().sum();
            assertEquals(5f, loss.item(), 0f, "forward is finite");
            var e = assertThrows(AnomalyException.class, loss::backward);
            assertEquals("sqrt", e.op());
            assertTrue(
                    e.getMessage()
                                    .startsWith("anomaly in backward: the gradient 'sqrt' gave its input 0 [3]"
                                            + " holds +Infinity (first at flat index 1)")
                            && e.getMessage().contains("incoming gradient [3]" + " was finite"),
                    e.getMessage());
        }
    }
}
