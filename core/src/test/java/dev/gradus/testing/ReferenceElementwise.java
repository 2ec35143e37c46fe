package dev.gradus.testing;

import static dev.gradus.testing.ReferenceBackend.load;
import static dev.gradus.testing.ReferenceBackend.ref;
import static dev.gradus.testing.ReferenceBackend.store;

import dev.gradus.DType;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.spi.UnaryOp;

/**
 * The reference backend's elementwise ops: fill, unary and binary maps, one element at a time.
 *
 * <p>Each op visits every logical coordinate of the output in row-major order and reads each input at the same
 * coordinates through its own layout, so strides, offsets and broadcasting (stride 0) need no code of their own.
 * An op may run in place ({@code out} the same elements as an input): each element is read before it is written.
 * Values are computed in double and rounded once to float.
 */
final class ReferenceElementwise {
    private ReferenceElementwise() {}

    static void fill(Operand dst, float value) {
        int[] c = new int[dst.layout().rank()];
        for (int i = 0, n = dst.numel(); i < n; i++, Layout.next(c, dst.shape())) {
            store(dst, c, value);
        }
    }

    static void unary(UnaryOp op, float s, Operand x, Operand out) {
        boolean ints =
                ref(x.storage()).dtype() == DType.INT32 || ref(out.storage()).dtype() == DType.INT32;
        if (ints && op != UnaryOp.IDENTITY) {
            // The SPI converts dtypes with IDENTITY only; the maths ops are defined on FLOAT32.
            throw new IllegalArgumentException("reference backend: " + op + " is only defined on FLOAT32");
        }
        int[] c = new int[out.layout().rank()];
        for (int i = 0, n = out.numel(); i < n; i++, Layout.next(c, out.shape())) {
            store(out, c, unary(op, s, load(x, c)));
        }
    }

    /** {@code op(v, s)} for one value, as {@link UnaryOp}'s javadoc defines it. */
    static double unary(UnaryOp op, double s, double v) {
        return switch (op) {
            case IDENTITY -> v;
            case NEG -> -v;
            case EXP -> Math.exp(v);
            case LOG -> Math.log(v);
            case SQRT -> Math.sqrt(v);
            case ABS -> Math.abs(v);
            case RELU -> Double.isNaN(v) ? v : Math.max(v, 0); // PyTorch's relu keeps NaN
            case SIGMOID -> 1 / (1 + Math.exp(-v)); // in double: exp(1000) is infinity, and 1 / infinity is 0
            case TANH -> Math.tanh(v);
            case ADD_SCALAR -> v + s;
            case MUL_SCALAR -> v * s;
            case POW_SCALAR -> Math.pow(v, s);
            case GT_SCALAR -> v > s ? 1 : 0;
            case ERF -> erf(v);
            case SIN -> Math.sin(v);
            case COS -> Math.cos(v);
        };
    }

    /**
     * The error function by the series of Abramowitz and Stegun 7.1.6,
     * {@code erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 * 3 * ... * (2n+1))}: every term has the sign
     * of {@code x}, so nothing cancels and the sum is good to double precision. Beyond |x| = 6, erf is 1 in double.
     */
    static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        if (Math.abs(x) > 6) {
            return Math.signum(x);
        }
        double term = x;
        double sum = x;
        for (int n = 1; n < 500 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
            term *= 2 * x * x / (2 * n + 1);
            sum += term;
        }
        return 2 / Math.sqrt(Math.PI) * Math.exp(-x * x) * sum;
    }

    static void binary(BinaryOp op, Operand a, Operand b, Operand out) {
        int[] c = new int[out.layout().rank()];
        for (int i = 0, n = out.numel(); i < n; i++, Layout.next(c, out.shape())) {
            store(out, c, binary(op, load(a, c), load(b, c)));
        }
    }

    /** {@code op(x, y)} for one pair, as {@link BinaryOp}'s javadoc defines it. */
    static double binary(BinaryOp op, double x, double y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case MAXIMUM -> Math.max(x, y); // NaN if either is, as torch.maximum
            case MINIMUM -> Math.min(x, y);
            case EQ -> x == y ? 1 : 0;
            case NE -> x != y ? 1 : 0;
            case GT -> x > y ? 1 : 0;
            case LT -> x < y ? 1 : 0;
            case GE -> x >= y ? 1 : 0;
            case LE -> x <= y ? 1 : 0;
            case MASK -> y != 0 ? x : 0;
            // PyTorch's threshold_backward: 0 where the saved value is <= 0, else the gradient. A NaN saved value
            // passes the gradient on (NanAndSizesConformance), which the javadoc's "a * (b > 0)" would not.
            case RELU_GRAD -> y <= 0 ? 0 : x;
            case SIGMOID_GRAD -> x * y * (1 - y);
            case TANH_GRAD -> x * (1 - y * y);
        };
    }
}
