package dev.gradus.metrics;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-epoch training metrics (Keras' {@code History}), written as CSV or JSON.
 *
 * <pre>{@code
 * History h = new History();
 * h.add(Map.of("epoch", 1.0, "train_loss", 0.31, "valid_accuracy", 0.95));
 * h.writeCsv(Path.of("history.csv"));
 * }</pre>
 */
public final class History {
    private final List<Map<String, Double>> epochs = new ArrayList<>();

    /** Appends one epoch's metrics; columns are the union of keys, in first-seen order. */
    public void add(Map<String, Double> metrics) {
        epochs.add(new LinkedHashMap<>(metrics));
    }

    /** Every epoch's metrics. */
    public List<Map<String, Double>> epochs() {
        return List.copyOf(epochs);
    }

    /** One metric over the epochs (NaN where an epoch lacks it). */
    public double[] series(String name) {
        double[] out = new double[epochs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = epochs.get(i).getOrDefault(name, Double.NaN);
        }
        return out;
    }

    /** Column names in first-seen order. */
    public List<String> columns() {
        LinkedHashMap<String, Boolean> cols = new LinkedHashMap<>();
        epochs.forEach(e -> e.keySet().forEach(k -> cols.put(k, true)));
        return new ArrayList<>(cols.keySet());
    }

    /** Writes a header line and one line per epoch, atomically. */
    public void writeCsv(Path file) throws IOException {
        List<String> cols = columns();
        dev.gradus.io.AtomicFiles.write(file, out -> {
            Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8);
            w.write(String.join(",", cols) + "\n");
            for (Map<String, Double> e : epochs) {
                List<String> cells = new ArrayList<>();
                for (String c : cols) {
                    Double v = e.get(c);
                    cells.add(v == null ? "" : c.equals("epoch") ? Long.toString(v.longValue()) : Double.toString(v));
                }
                w.write(String.join(",", cells) + "\n");
            }
            w.flush();
        });
    }

    /** Writes {@code [{"epoch": 1, ...}, ...]}, atomically. */
    public void writeJson(Path file) throws IOException {
        dev.gradus.io.AtomicFiles.write(file, out -> {
            try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
                g.useDefaultPrettyPrinter();
                g.writeStartArray();
                for (Map<String, Double> e : epochs) {
                    g.writeStartObject();
                    for (Map.Entry<String, Double> m : e.entrySet()) {
                        g.writeNumberField(m.getKey(), m.getValue());
                    }
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
        });
    }
}
