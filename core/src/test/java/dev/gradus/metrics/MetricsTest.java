package dev.gradus.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsTest {
    @Test
    void confusionMatrixCountsAccuracyAndErrors() {
        int[] y = {0, 0, 1, 1, 1, 2};
        int[] p = {0, 1, 1, 1, 2, 2};
        ConfusionMatrix cm = ConfusionMatrix.of(3, y, p);
        assertEquals(4.0 / 6, cm.accuracy(), 1e-12);
        assertEquals(1, cm.count(0, 1));
        assertEquals(2, cm.count(1, 1));
        assertArrayEquals(new double[] {0.5, 2.0 / 3, 1.0}, cm.perClassAccuracy(), 1e-12);
        assertArrayEquals(new int[] {1, 4}, cm.misclassified());
        assertTrue(cm.format(List.of("a", "b", "c")).contains("true\\pred"));
        assertThrows(IllegalArgumentException.class, () -> ConfusionMatrix.of(3, new int[] {3}, new int[] {0}));
        assertThrows(IllegalArgumentException.class, () -> ConfusionMatrix.of(3, new int[] {1}, new int[] {}));
    }

    @Test
    void historyWritesCsvAndJson(@TempDir Path dir) throws Exception {
        LinkedHashMap<String, Double> e1 = new LinkedHashMap<>();
        e1.put("epoch", 1.0);
        e1.put("train_loss", 0.5);
        e1.put("valid_accuracy", 0.9);
        History hist = new History();
        hist.add(e1);
        LinkedHashMap<String, Double> e2 = new LinkedHashMap<>(e1);
        e2.put("epoch", 2.0);
        e2.put("train_loss", 0.25);
        hist.add(e2);
        hist.writeCsv(dir.resolve("history.csv"));
        assertEquals(
                List.of("epoch,train_loss,valid_accuracy", "1,0.5,0.9", "2,0.25,0.9"),
                Files.readAllLines(dir.resolve("history.csv")));
        hist.writeJson(dir.resolve("history.json"));
        String json = Files.readString(dir.resolve("history.json"));
        assertTrue(json.contains("\"train_loss\" : 0.25"), json);
        assertArrayEquals(new double[] {0.5, 0.25}, hist.series("train_loss"), 0);
    }
}
