package dev.gradus.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Counts of (true label, predicted label) pairs, with accuracy, per-class accuracy and the misclassified examples.
 *
 * <p>Rows are true classes, columns predictions, as scikit-learn's {@code confusion_matrix}.
 *
 * <pre>{@code
 * ConfusionMatrix cm = ConfusionMatrix.of(10, labels, predictions);
 * cm.accuracy(); cm.perClassAccuracy(); cm.misclassified();
 * }</pre>
 */
public final class ConfusionMatrix {
    private final int classes;
    private final long[][] counts;
    private final int[] labels;
    private final int[] predictions;

    private ConfusionMatrix(int classes, int[] labels, int[] predictions) {
        this.classes = classes;
        this.labels = labels.clone();
        this.predictions = predictions.clone();
        this.counts = new long[classes][classes];
        for (int i = 0; i < labels.length; i++) {
            counts[labels[i]][predictions[i]]++;
        }
    }

    /**
     * The matrix of {@code labels} against {@code predictions}.
     *
     * @throws IllegalArgumentException when lengths differ or a value is outside {@code [0, classes)}, naming it
     */
    public static ConfusionMatrix of(int classes, int[] labels, int[] predictions) {
        if (labels.length != predictions.length) {
            throw new IllegalArgumentException(
                    "ConfusionMatrix: " + labels.length + " labels but " + predictions.length + " predictions");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes || predictions[i] < 0 || predictions[i] >= classes) {
                throw new IllegalArgumentException("ConfusionMatrix: item " + i + " has label " + labels[i]
                        + " and prediction " + predictions[i] + ", outside [0, " + classes + ")");
            }
        }
        return new ConfusionMatrix(classes, labels, predictions);
    }

    /** Number of classes. */
    public int classes() {
        return classes;
    }

    /** Count of items of true class {@code truth} predicted as {@code predicted}. */
    public long count(int truth, int predicted) {
        return counts[truth][predicted];
    }

    /** A copy of the counts, {@code [truth][predicted]}. */
    public long[][] counts() {
        long[][] c = new long[classes][];
        for (int i = 0; i < classes; i++) {
            c[i] = counts[i].clone();
        }
        return c;
    }

    /** Fraction of items predicted correctly. */
    public double accuracy() {
        long right = 0;
        for (int i = 0; i < classes; i++) {
            right += counts[i][i];
        }
        return labels.length == 0 ? 0 : (double) right / labels.length;
    }

    /** For each class, the fraction of its items predicted correctly (recall); NaN for an absent class. */
    public double[] perClassAccuracy() {
        double[] out = new double[classes];
        for (int i = 0; i < classes; i++) {
            long total = Arrays.stream(counts[i]).sum();
            out[i] = total == 0 ? Double.NaN : (double) counts[i][i] / total;
        }
        return out;
    }

    /** Indices of the misclassified items, in order. */
    public int[] misclassified() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] != predictions[i]) {
                out.add(i);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The true label of item {@code i}. */
    public int label(int i) {
        return labels[i];
    }

    /** The prediction for item {@code i}. */
    public int prediction(int i) {
        return predictions[i];
    }

    /** A text table with class names (rows true, columns predicted). */
    public String format(List<String> names) {
        int w = 6;
        for (String n : names) {
            w = Math.max(w, Math.min(12, n.length()) + 1);
        }
        StringBuilder sb = new StringBuilder(String.format("%-" + w + "s", "true\\pred"));
        for (int j = 0; j < classes; j++) {
            sb.append(String.format("%" + w + "s", shorten(names.get(j), w - 1)));
        }
        sb.append('\n');
        for (int i = 0; i < classes; i++) {
            sb.append(String.format("%-" + w + "s", shorten(names.get(i), w - 1)));
            for (int j = 0; j < classes; j++) {
                sb.append(String.format("%" + w + "d", counts[i][j]));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String shorten(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n);
    }
}
