package dev.gradus;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@link Tensor#toString()} as PyTorch prints tensors: nested brackets aligned under {@code tensor(}, one number
 * format for all elements (integral floats as {@code 1.}, else 4 decimals, scientific when magnitudes are far
 * apart), more than {@link #THRESHOLD} elements summarised to the first and last {@link #EDGE} of each axis around
 * {@code ...}, then the shape, dtype and gradient state.
 *
 * <pre>{@code
 * tensor([[1., 2.],
 *         [3., 4.]], shape=[2, 2], dtype=float32)
 * }</pre>
 */
final class TensorFormat {
    /** PyTorch's print options: summarise above 1000 elements, keeping 3 at each edge. */
    static final int THRESHOLD = 1000;

    static final int EDGE = 3;

    private static final String PREFIX = "tensor(";

    private TensorFormat() {}

    static String format(Tensor x) {
        if (x.isClosed()) {
            return "tensor(<released>, shape=" + x.shape() + ", dtype=" + dtypeName(x) + ")";
        }
        int[] dims = x.shape().dims();
        boolean summarise = x.numel() > THRESHOLD;
        boolean[] cut = new boolean[dims.length];
        String[] cells;
        int[] shown;
        try (Scope s = Scope.open();
                GradMode ng = GradMode.noGrad()) {
            Tensor small = x;
            for (int d = 0; d < dims.length; d++) {
                if (summarise && dims[d] > 2 * EDGE) {
                    cut[d] = true;
                    small = Tensor.cat(List.of(small.narrow(d, 0, EDGE), small.narrow(d, dims[d] - EDGE, EDGE)), d);
                }
            }
            shown = small.shape().dims();
            cells = x.dtype() == DType.INT32 ? ints(small.toIntArray()) : floats(small.toFloatArray());
        }
        StringBuilder sb = new StringBuilder(PREFIX);
        if (dims.length == 0) {
            sb.append(cells[0]);
        } else {
            int width = 0;
            for (String c : cells) {
                // As PyTorch's printer: the width comes from the finite values; nan and inf are not padded for.
                if (!c.equals("nan") && !c.endsWith("inf")) {
                    width = Math.max(width, c.length());
                }
            }
            block(sb, cells, shown, cut, 0, 0, width);
        }
        sb.append(", shape=").append(x.shape()).append(", dtype=").append(dtypeName(x));
        if (x.requiresGrad()) {
            sb.append(x.op() != null ? ", grad_fn=<" + x.op() + ">" : ", requires_grad=true");
        }
        return sb.append(')').toString();
    }

    private static String dtypeName(Tensor x) {
        return x.dtype().name().toLowerCase(Locale.ROOT);
    }

    /** Appends axis {@code d}'s block starting at cell {@code at}; rows of deeper axes are indented under it. */
    private static void block(StringBuilder sb, String[] cells, int[] shown, boolean[] cut, int d, int at, int width) {
        int stride = 1;
        for (int k = d + 1; k < shown.length; k++) {
            stride *= shown[k];
        }
        String sep = d == shown.length - 1
                ? ", "
                : "," + "\n".repeat(shown.length - 1 - d) + " ".repeat(PREFIX.length() + d + 1);
        sb.append('[');
        for (int i = 0; i < shown[d]; i++) {
            if (i > 0) {
                sb.append(sep);
            }
            if (cut[d] && i == EDGE) {
                sb.append("...").append(sep);
            }
            if (d == shown.length - 1) {
                sb.append(" ".repeat(Math.max(0, width - cells[at + i].length())))
                        .append(cells[at + i]);
            } else {
                block(sb, cells, shown, cut, d + 1, at + i * stride, width);
            }
        }
        sb.append(']');
    }

    private static String[] ints(int[] v) {
        String[] out = new String[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Integer.toString(v[i]);
        }
        return out;
    }

    /** One format for every shown value, chosen as PyTorch's printer chooses it. */
    private static String[] floats(float[] v) {
        boolean integral = true;
        double maxAbs = 0;
        double minAbs = Double.POSITIVE_INFINITY;
        for (float f : v) {
            if (Float.isFinite(f)) {
                integral &= f == Math.rint(f);
                double a = Math.abs(f);
                maxAbs = Math.max(maxAbs, a);
                if (a > 0) {
                    minAbs = Math.min(minAbs, a);
                }
            }
        }
        boolean scientific = maxAbs > 1e8 || (integral ? false : minAbs < 1e-4 || maxAbs / minAbs > 1000);
        List<String> out = new ArrayList<>(v.length);
        for (float f : v) {
            String s;
            if (Float.isNaN(f)) {
                s = "nan";
            } else if (Float.isInfinite(f)) {
                s = f > 0 ? "inf" : "-inf";
            } else if (scientific) {
                s = String.format(Locale.ROOT, "%.4e", f);
            } else if (integral) {
                s = String.format(Locale.ROOT, "%.0f.", f);
            } else {
                s = String.format(Locale.ROOT, "%.4f", f);
            }
            out.add(s);
        }
        return out.toArray(new String[0]);
    }
}
