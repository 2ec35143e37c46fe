package dev.gradus.train;

import dev.gradus.DType;
import dev.gradus.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The built-in {@link Metric}s: accuracy and top-k accuracy, precision, recall and F1 per class and macro-averaged
 * (scikit-learn's definitions, 0 where a class has no predictions or no examples), and MAE and RMSE for regression.
 *
 * <p>Classification metrics take {@code output [N, C]} scores and {@code target [N]} INT32 labels (or {@code [N, C]}
 * soft labels, whose largest entry is the class); regression metrics take an output and a target of one shape.
 *
 * <pre>{@code
 * List<Metric> m = List.of(Metrics.accuracy(), Metrics.topKAccuracy(5), Metrics.f1(10));
 * }</pre>
 */
public final class Metrics {
    private Metrics() {}

    /** Fraction of rows whose largest score is at the label. */
    public static Metric accuracy() {
        return topK("accuracy", 1);
    }

    /** Fraction of rows whose label is among the {@code k} largest scores. */
    public static Metric topKAccuracy(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("topKAccuracy: k must be at least 1, got " + k);
        }
        return topK("top" + k + "_accuracy", k);
    }

    /** Precision, macro-averaged over {@code classes} classes, with each class's as {@code precision_class_<c>}. */
    public static Metric precision(int classes) {
        return new PerClass("precision", classes);
    }

    /** Recall, macro-averaged, with each class's as {@code recall_class_<c>}. */
    public static Metric recall(int classes) {
        return new PerClass("recall", classes);
    }

    /** F1, macro-averaged (the mean of the per-class F1s), with each class's as {@code f1_class_<c>}. */
    public static Metric f1(int classes) {
        return new PerClass("f1", classes);
    }

    /** Mean absolute error over every element. */
    public static Metric mae() {
        return new Regression("mae", false);
    }

    /** Root of the mean squared error over every element. */
    public static Metric rmse() {
        return new Regression("rmse", true);
    }

    /** Per row, the label: an INT32 target as is, a soft target's largest entry. */
    static int[] labels(Tensor output, Tensor target, String metric) {
        int n = output.shape().dim(0);
        if (target.dtype() == DType.INT32) {
            if (target.shape().rank() != 1 || target.shape().dim(0) != n) {
                throw new IllegalArgumentException(metric + ": labels " + target.shape() + " for output "
                        + output.shape() + "; expected [" + n + "]");
            }
            return target.toIntArray();
        }
        if (!target.shape().equals(output.shape())) {
            throw new IllegalArgumentException(metric + ": a classification metric takes INT32 labels [" + n
                    + "] or soft labels " + output.shape() + ", got FLOAT32 " + target.shape());
        }
        return argmaxRows(target.toFloatArray(), n);
    }

    private static int[] argmaxRows(float[] v, int n) {
        int c = n == 0 ? 0 : v.length / n;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int j = 1; j < c; j++) {
                if (v[i * c + j] > v[i * c + best]) {
                    best = j;
                }
            }
            out[i] = best;
        }
        return out;
    }

    /** Output as {@code [N, C]} scores, checked. */
    private static float[] scores(Tensor output, String metric) {
        if (output.shape().rank() != 2) {
            throw new IllegalArgumentException(metric + ": expected scores [N, C], got " + output.shape());
        }
        return output.toFloatArray();
    }

    private static Metric topK(String name, int k) {
        return new Metric() {
            private long right;
            private long seen;

            @Override
            public String name() {
                return name;
            }

            @Override
            public void reset() {
                right = 0;
                seen = 0;
            }

            @Override
            public void update(Tensor output, Tensor target) {
                float[] s = scores(output, name);
                int[] y = labels(output, target, name);
                int c = output.shape().dim(1);
                for (int i = 0; i < y.length; i++) {
                    if (y[i] < 0 || y[i] >= c) {
                        throw new IllegalArgumentException(
                                name + ": label " + y[i] + " at row " + i + " is outside [0, " + c + ")");
                    }
                    float v = s[i * c + y[i]];
                    // The label's rank: classes scored higher, and equal ones before it (argmax takes the first).
                    int rank = 0;
                    for (int j = 0; j < c; j++) {
                        float o = s[i * c + j];
                        if (o > v || (o == v && j < y[i]) || Float.isNaN(o)) {
                            rank++;
                        }
                    }
                    right += !Float.isNaN(v) && rank < k ? 1 : 0;
                }
                seen += y.length;
            }

            @Override
            public double result() {
                return seen == 0 ? Double.NaN : (double) right / seen;
            }

            @Override
            public boolean isFraction() {
                return true;
            }
        };
    }

    /** Precision, recall or F1 from per-class counts of true positives, predictions and examples. */
    private static final class PerClass implements Metric {
        private final String name;
        private final int classes;
        private final long[] truePositives;
        private final long[] predicted;
        private final long[] actual;

        PerClass(String name, int classes) {
            if (classes < 1) {
                throw new IllegalArgumentException(name + ": classes must be at least 1, got " + classes);
            }
            this.name = name;
            this.classes = classes;
            truePositives = new long[classes];
            predicted = new long[classes];
            actual = new long[classes];
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void reset() {
            Arrays.fill(truePositives, 0);
            Arrays.fill(predicted, 0);
            Arrays.fill(actual, 0);
        }

        @Override
        public void update(Tensor output, Tensor target) {
            float[] s = scores(output, name);
            if (output.shape().dim(1) != classes) {
                throw new IllegalArgumentException(
                        name + ": built for " + classes + " classes, got scores " + output.shape());
            }
            int[] y = labels(output, target, name);
            int[] p = argmaxRows(s, y.length);
            for (int i = 0; i < y.length; i++) {
                if (y[i] < 0 || y[i] >= classes) {
                    throw new IllegalArgumentException(
                            name + ": label " + y[i] + " at row " + i + " is outside [0, " + classes + ")");
                }
                actual[y[i]]++;
                predicted[p[i]]++;
                truePositives[p[i]] += p[i] == y[i] ? 1 : 0;
            }
        }

        double of(int c) {
            double precision = predicted[c] == 0 ? 0 : (double) truePositives[c] / predicted[c];
            double recall = actual[c] == 0 ? 0 : (double) truePositives[c] / actual[c];
            return switch (name) {
                case "precision" -> precision;
                case "recall" -> recall;
                default -> precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            };
        }

        @Override
        public double result() {
            long seen = 0;
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                seen += actual[c];
                sum += of(c);
            }
            return seen == 0 ? Double.NaN : sum / classes;
        }

        @Override
        public Map<String, Double> results() {
            Map<String, Double> out = new LinkedHashMap<>();
            out.put(name, result());
            for (int c = 0; c < classes; c++) {
                out.put(name + "_class_" + c, of(c));
            }
            return out;
        }

        @Override
        public boolean isFraction() {
            return true;
        }
    }

    /** MAE or RMSE over every element of an output and a target of one shape. */
    private static final class Regression implements Metric {
        private final String name;
        private final boolean squared;
        private double sum;
        private long count;

        Regression(String name, boolean squared) {
            this.name = name;
            this.squared = squared;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void reset() {
            sum = 0;
            count = 0;
        }

        @Override
        public void update(Tensor output, Tensor target) {
            if (!output.shape().equals(target.shape()) || target.dtype() != DType.FLOAT32) {
                throw new IllegalArgumentException(name + ": output " + output.shape() + " and target " + target.dtype()
                        + " " + target.shape() + " must be FLOAT32 of one shape");
            }
            float[] o = output.toFloatArray();
            float[] t = target.toFloatArray();
            for (int i = 0; i < o.length; i++) {
                double d = (double) o[i] - t[i];
                sum += squared ? d * d : Math.abs(d);
            }
            count += o.length;
        }

        @Override
        public double result() {
            if (count == 0) {
                return Double.NaN;
            }
            return squared ? Math.sqrt(sum / count) : sum / count;
        }
    }
}
