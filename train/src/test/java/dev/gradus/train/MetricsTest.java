package dev.gradus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Tensor;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.spi.Backend;
import dev.gradus.testing.ScopePerTest;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The built-in metrics against values worked out by hand, over two batches. */
@ExtendWith(ScopePerTest.class)
class MetricsTest {
    private final Backend cpu = CpuBackendProvider.get();

    private Tensor scores(float[] v, int rows) {
        return Tensor.of(cpu, v, rows, v.length / rows);
    }

    private Tensor labels(int... y) {
        return Tensor.ofInts(cpu, y, y.length);
    }

    /**
     * Six rows of three classes; labels 0,0,1,1,2,2; predicted 0,1,1,1,2,0 (argmax). Class 0: TP 1, predicted 2,
     * actual 2; class 1: TP 2, predicted 3, actual 2; class 2: TP 1, predicted 1, actual 2.
     */
    private void feed(Metric m) {
        m.reset();
        m.update(scores(new float[] {0.9f, 0.1f, 0f, 0.2f, 0.7f, 0.1f, 0f, 1f, 0f}, 3), labels(0, 0, 1));
        m.update(scores(new float[] {0.3f, 0.6f, 0.1f, 0f, 0.4f, 0.6f, 0.5f, 0.1f, 0.4f}, 3), labels(1, 2, 2));
    }

    @Test
    void accuracyAndTopK() {
        Metric acc = Metrics.accuracy();
        feed(acc);
        assertEquals(4.0 / 6, acc.result(), 1e-12);
        Metric top2 = Metrics.topKAccuracy(2);
        feed(top2);
        // Rows 2 (label 0: 0.2 is second of 0.7, 0.2, 0.1) and 6 (label 2: 0.4 second of 0.5) join: 6 of 6.
        assertEquals(1.0, top2.result(), 1e-12);
        assertEquals("top2_accuracy", top2.name());
        Metric top1 = Metrics.topKAccuracy(1);
        feed(top1);
        assertEquals(acc.result(), top1.result(), 0);
    }

    @Test
    void precisionRecallF1PerClassAndMacro() {
        Metric p = Metrics.precision(3);
        Metric r = Metrics.recall(3);
        Metric f = Metrics.f1(3);
        feed(p);
        feed(r);
        feed(f);
        double[] precision = {1.0 / 2, 2.0 / 3, 1.0};
        double[] recall = {1.0 / 2, 2.0 / 2, 1.0 / 2};
        Map<String, Double> pr = p.results();
        Map<String, Double> rr = r.results();
        Map<String, Double> fr = f.results();
        double macroF1 = 0;
        for (int c = 0; c < 3; c++) {
            assertEquals(precision[c], pr.get("precision_class_" + c), 1e-12, "precision of " + c);
            assertEquals(recall[c], rr.get("recall_class_" + c), 1e-12, "recall of " + c);
            double f1 = 2 * precision[c] * recall[c] / (precision[c] + recall[c]);
            assertEquals(f1, fr.get("f1_class_" + c), 1e-12, "F1 of " + c);
            macroF1 += f1 / 3;
        }
        assertEquals((0.5 + 2.0 / 3 + 1.0) / 3, p.result(), 1e-12);
        assertEquals((0.5 + 1.0 + 0.5) / 3, r.result(), 1e-12);
        assertEquals(macroF1, f.result(), 1e-12);
        assertEquals("f1", fr.keySet().iterator().next(), "the main value first");
    }

    @Test
    void maeAndRmse() {
        Metric mae = Metrics.mae();
        Metric rmse = Metrics.rmse();
        for (Metric m : new Metric[] {mae, rmse}) {
            m.reset();
            m.update(Tensor.of(cpu, new float[] {1, 2}, 2, 1), Tensor.of(cpu, new float[] {0, 4}, 2, 1));
            m.update(Tensor.of(cpu, new float[] {-1}, 1, 1), Tensor.of(cpu, new float[] {2}, 1, 1));
        }
        assertEquals((1 + 2 + 3) / 3.0, mae.result(), 1e-12);
        assertEquals(Math.sqrt((1 + 4 + 9) / 3.0), rmse.result(), 1e-12);
    }

    @Test
    void nothingSeenIsNaNAndMisuseIsOneLine() {
        Metric acc = Metrics.accuracy();
        acc.reset();
        assertTrue(Double.isNaN(acc.result()));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> acc.update(scores(new float[] {1, 0, 0, 1}, 2), labels(0, 5)));
        assertTrue(e.getMessage().contains("label 5 at row 1 is outside [0, 2)"), e.getMessage());
        IllegalArgumentException shape = assertThrows(
                IllegalArgumentException.class,
                () -> Metrics.mae()
                        .update(Tensor.of(cpu, new float[] {1, 2}, 2, 1), Tensor.of(cpu, new float[] {1, 2}, 2)));
        assertTrue(shape.getMessage().contains("[2, 1]") && shape.getMessage().contains("[2]"), shape.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Metrics.f1(0));
    }
}
