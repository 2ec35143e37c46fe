package dev.gradus.backend.cpu;

import dev.gradus.DType;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.ReduceOp;
import dev.gradus.spi.UnaryOp;
import java.nio.FloatBuffer;

/**
 * Java loops over one strided row; the op switch sits outside each loop so the JIT sees a simple body.
 */
final class Kernels {
    private Kernels() {
    }

    static void unary(UnaryOp op, float s, FloatBuffer x, int xo, int xs, FloatBuffer o, int oo, int os, int n) {
        switch (op) {
            case IDENTITY -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, x.get(xo + k * xs));
                }
            }
            case NEG -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, -x.get(xo + k * xs));
                }
            }
            case EXP -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, (float) Math.exp(x.get(xo + k * xs)));
                }
            }
            case LOG -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, (float) Math.log(x.get(xo + k * xs)));
                }
            }
            case SQRT -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, (float) Math.sqrt(x.get(xo + k * xs)));
                }
            }
            case ABS -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, Math.abs(x.get(xo + k * xs)));
                }
            }
            case RELU -> {
                for (int k = 0; k < n; k++) {
                    float v = x.get(xo + k * xs);
                    o.put(oo + k * os, v > 0f ? v : 0f);
                }
            }
            case SIGMOID -> {
                for (int k = 0; k < n; k++) {
                    float v = x.get(xo + k * xs);
                    // Split by sign so exp never overflows.
                    float r = v >= 0f ? (float) (1.0 / (1.0 + Math.exp(-v))) : (float) (Math.exp(v) / (1.0 + Math.exp(v)));
                    o.put(oo + k * os, r);
                }
            }
            case TANH -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, (float) Math.tanh(x.get(xo + k * xs)));
                }
            }
            case ADD_SCALAR -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, x.get(xo + k * xs) + s);
                }
            }
            case MUL_SCALAR -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, x.get(xo + k * xs) * s);
                }
            }
            case POW_SCALAR -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, (float) Math.pow(x.get(xo + k * xs), s));
                }
            }
            case RECIPROCAL -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, 1f / x.get(xo + k * xs));
                }
            }
            case GT_SCALAR -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, x.get(xo + k * xs) > s ? 1f : 0f);
                }
            }
            default -> throw new IllegalArgumentException("cpu backend: unary op " + op + " not implemented");
        }
    }

    static void binary(BinaryOp op, FloatBuffer a, int ao, int as, FloatBuffer b, int bo, int bs, FloatBuffer o,
                       int oo, int os, int n) {
        switch (op) {
            case ADD -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, a.get(ao + k * as) + b.get(bo + k * bs));
                }
            }
            case SUB -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, a.get(ao + k * as) - b.get(bo + k * bs));
                }
            }
            case MUL -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, a.get(ao + k * as) * b.get(bo + k * bs));
                }
            }
            case DIV -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, a.get(ao + k * as) / b.get(bo + k * bs));
                }
            }
            case MAXIMUM -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, Math.max(a.get(ao + k * as), b.get(bo + k * bs)));
                }
            }
            case MINIMUM -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, Math.min(a.get(ao + k * as), b.get(bo + k * bs)));
                }
            }
            case EQ -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, a.get(ao + k * as) == b.get(bo + k * bs) ? 1f : 0f);
                }
            }
            case RELU_GRAD -> {
                for (int k = 0; k < n; k++) {
                    o.put(oo + k * os, b.get(bo + k * bs) > 0f ? a.get(ao + k * as) : 0f);
                }
            }
            case SIGMOID_GRAD -> {
                for (int k = 0; k < n; k++) {
                    float y = b.get(bo + k * bs);
                    o.put(oo + k * os, a.get(ao + k * as) * y * (1f - y));
                }
            }
            case TANH_GRAD -> {
                for (int k = 0; k < n; k++) {
                    float y = b.get(bo + k * bs);
                    o.put(oo + k * os, a.get(ao + k * as) * (1f - y * y));
                }
            }
            default -> throw new IllegalArgumentException("cpu backend: binary op " + op + " not implemented");
        }
    }

    /** Reduces {@code n} contiguous elements into one output element. */
    static void reduceRow(ReduceOp op, FloatBuffer x, int xo, int n, CpuStorage out, int oo) {
        switch (op) {
            case SUM -> {
                float acc = 0f;
                for (int k = 0; k < n; k++) {
                    acc += x.get(xo + k);
                }
                out.f.put(oo, acc);
            }
            case MAX, MIN, ARGMAX -> {
                boolean max = op != ReduceOp.MIN;
                int best = 0;
                float bv = x.get(xo);
                for (int k = 1; k < n; k++) {
                    float v = x.get(xo + k);
                    if (max ? v > bv : v < bv) {
                        bv = v;
                        best = k;
                    }
                }
                if (op == ReduceOp.ARGMAX) {
                    out.i.put(oo, best);
                } else {
                    out.f.put(oo, bv);
                }
            }
            default -> throw new IllegalArgumentException("cpu backend: reduce op " + op + " not implemented");
        }
    }

    /** Reduces a {@code [n, inner]} block over its rows into {@code inner} outputs. */
    static void reduceColumns(ReduceOp op, FloatBuffer x, int xo, int n, int inner, CpuStorage out, int oo) {
        if (op == ReduceOp.SUM) {
            for (int j = 0; j < inner; j++) {
                out.f.put(oo + j, x.get(xo + j));
            }
            for (int k = 1; k < n; k++) {
                int row = xo + k * inner;
                for (int j = 0; j < inner; j++) {
                    out.f.put(oo + j, out.f.get(oo + j) + x.get(row + j));
                }
            }
            return;
        }
        boolean max = op != ReduceOp.MIN;
        for (int j = 0; j < inner; j++) {
            int best = 0;
            float bv = x.get(xo + j);
            for (int k = 1; k < n; k++) {
                float v = x.get(xo + k * inner + j);
                if (max ? v > bv : v < bv) {
                    bv = v;
                    best = k;
                }
            }
            if (op == ReduceOp.ARGMAX) {
                out.i.put(oo + j, best);
            } else if (out.dtype == DType.FLOAT32) {
                out.f.put(oo + j, bv);
            }
        }
    }

    /** {@code out = (x - max) - log(sum(exp(x - max)))} over one row. */
    static void logSoftmaxRow(FloatBuffer x, int xo, FloatBuffer o, int oo, int n) {
        if (n == 0) {
            return;
        }
        float mx = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < n; k++) {
            mx = Math.max(mx, x.get(xo + k));
        }
        double sum = 0;
        for (int k = 0; k < n; k++) {
            sum += Math.exp(x.get(xo + k) - mx);
        }
        // (x - max) - log(sum) rather than x - (max + log(sum)): the latter loses digits when |max| is large.
        float logSum = (float) Math.log(sum);
        for (int k = 0; k < n; k++) {
            o.put(oo + k, (x.get(xo + k) - mx) - logSum);
        }
    }
}
