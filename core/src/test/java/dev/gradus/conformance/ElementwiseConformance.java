package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.BROADCAST_CASES;
import static dev.gradus.conformance.BackendConformance.assertClose;
import static dev.gradus.conformance.BackendConformance.broadcastIndex;
import static dev.gradus.conformance.BackendConformance.refErf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Shape;
import dev.gradus.Tensor;
import java.util.Arrays;
import java.util.function.BiFunction;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The elementwise ops forward: each unary op and scalar form against a plain Java reference on odd shapes, a scalar
 * and a transposed view; sigmoid stable for large inputs; the binary ops broadcasting as NumPy does (either operand
 * first, a bias over many short rows), on transposed views too; and incompatible shapes refused in a message naming
 * the op and both shapes. Part of {@link BackendConformance}, so every backend runs it.
 */
interface ElementwiseConformance extends SuiteHelpers {
    private void checkUnary(String name, Function<Tensor, Tensor> op, DoubleUnaryOperator ref, float lo, float hi) {
        for (int[] shape : new int[][] {{3, 5, 7}, {4, 8}, {1}, {}}) {
            Tensor x = rand(lo, hi, shape);
            float[] xv = x.toFloatArray();
            float[] expected = new float[xv.length];
            for (int i = 0; i < xv.length; i++) {
                expected[i] = (float) ref.applyAsDouble(xv[i]);
            }
            Tensor y = op.apply(x);
            assertEquals(x.shape(), y.shape(), name + " shape");
            assertClose(expected, y.toFloatArray(), 1e-5, name + " on " + Arrays.toString(shape));
        }
        // strided input: a transposed view
        Tensor x = rand(lo, hi, 5, 3);
        Tensor xt = x.t();
        float[] xv = xt.contiguous().toFloatArray();
        float[] expected = new float[xv.length];
        for (int i = 0; i < xv.length; i++) {
            expected[i] = (float) ref.applyAsDouble(xv[i]);
        }
        assertClose(expected, op.apply(xt).toFloatArray(), 1e-5, name + " on a transposed view");
    }

    @Test
    default void unaryOpsMatchReference() {
        checkUnary("neg", Tensor::neg, v -> -v, -3, 3);
        checkUnary("exp", Tensor::exp, Math::exp, -3, 3);
        checkUnary("log", Tensor::log, Math::log, 0.1f, 5);
        checkUnary("sqrt", Tensor::sqrt, Math::sqrt, 0.1f, 5);
        checkUnary("abs", Tensor::abs, Math::abs, -3, 3);
        checkUnary("relu", Tensor::relu, v -> Math.max(v, 0), -3, 3);
        checkUnary("sigmoid", Tensor::sigmoid, v -> 1 / (1 + Math.exp(-v)), -8, 8);
        checkUnary("tanh", Tensor::tanh, Math::tanh, -3, 3);
        checkUnary("add scalar", x -> x.add(2.5f), v -> v + 2.5, -3, 3);
        checkUnary("mul scalar", x -> x.mul(-1.5f), v -> v * -1.5, -3, 3);
        checkUnary("pow", x -> x.pow(3f), v -> v * v * v, -2, 2);
        checkUnary("rsub", x -> x.rsub(1f), v -> 1 - v, -2, 2);
        checkUnary("erf", Tensor::erf, BackendConformance::refErf, -4, 4);
        checkUnary("sin", Tensor::sin, Math::sin, -7, 7);
        checkUnary("cos", Tensor::cos, Math::cos, -7, 7);
        checkUnary("gelu", Tensor::gelu, v -> v / 2 * (1 + refErf(v / Math.sqrt(2))), -4, 4);
    }

    @Test
    default void sigmoidIsStableForLargeInputs() {
        float[] y = t(new float[] {-1000f, 1000f, 0f}, 3).sigmoid().toFloatArray();
        assertArrayEquals(new float[] {0f, 1f, 0.5f}, y, 1e-7f);
    }

    private void checkBinary(
            String name,
            BiFunction<Tensor, Tensor, Tensor> op,
            DoubleBinaryOperator ref,
            int[] sa,
            int[] sb,
            float lo,
            float hi) {
        Tensor a = rand(lo, hi, sa);
        Tensor b = rand(lo, hi, sb);
        Tensor y = op.apply(a, b);
        int[] out = y.shape().dims();
        assertEquals(Shape.broadcast(name, Shape.of(sa), Shape.of(sb)), y.shape(), name + " shape");
        float[] av = a.toFloatArray();
        float[] bv = b.toFloatArray();
        float[] expected = new float[y.numel()];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (float) ref.applyAsDouble(av[broadcastIndex(i, out, sa)], bv[broadcastIndex(i, out, sb)]);
        }
        assertClose(
                expected, y.toFloatArray(), 1e-5, name + " " + Arrays.toString(sa) + " with " + Arrays.toString(sb));
    }

    @Test
    default void binaryOpsBroadcastLikeNumpy() {
        // a bias broadcast over many short rows, either operand first, over several tiles and threads
        for (int[][] c : new int[][][] {{{6000, 100}, {100}}, {{10}, {3000, 10}}, {{1, 7}, {5, 7}}}) {
            checkBinary("add", Tensor::add, Double::sum, c[0], c[1], -3, 3);
            checkBinary("sub", Tensor::sub, (x, y) -> x - y, c[0], c[1], -3, 3);
        }
        for (int[][] c : BROADCAST_CASES) {
            checkBinary("add", Tensor::add, Double::sum, c[0], c[1], -3, 3);
            checkBinary("sub", Tensor::sub, (x, y) -> x - y, c[0], c[1], -3, 3);
            checkBinary("mul", Tensor::mul, (x, y) -> x * y, c[0], c[1], -3, 3);
            checkBinary("div", Tensor::div, (x, y) -> x / y, c[0], c[1], 0.5f, 3);
            checkBinary("maximum", Tensor::maximum, Math::max, c[0], c[1], -3, 3);
        }
    }

    @Test
    default void binaryOpsOnTransposedViews() {
        Tensor a = rand(-1, 1, 4, 6);
        Tensor b = rand(-1, 1, 6, 4);
        float[] expected = a.t().contiguous().add(b).toFloatArray();
        assertClose(expected, a.t().add(b).toFloatArray(), 0, "add on a transposed view");
    }

    @Test
    default void incompatibleShapesNameTheOpAndShapes() {
        Tensor a = rand(0, 1, 3, 4);
        Tensor b = rand(0, 1, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
        assertTrue(
                e.getMessage().contains("add")
                        && e.getMessage().contains("[3, 4]")
                        && e.getMessage().contains("[5]"),
                e.getMessage());
        IllegalArgumentException m = assertThrows(
                IllegalArgumentException.class, () -> rand(0, 1, 32, 784).matmul(rand(0, 1, 48, 784)));
        assertTrue(m.getMessage().contains("matmul: [32, 784] x [48, 784]"), m.getMessage());
    }
}
