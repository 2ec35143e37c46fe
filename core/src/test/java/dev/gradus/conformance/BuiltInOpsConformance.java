package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Tensor;
import dev.gradus.ops.ActivationOps;
import dev.gradus.ops.ArithmeticOps;
import dev.gradus.ops.ComparisonOps;
import dev.gradus.ops.MathOps;
import dev.gradus.spi.Backend;
import dev.gradus.spi.UnaryOp;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The built-in ops as {@link dev.gradus.ops.Op}s ({@link ArithmeticOps}, {@link MathOps}, {@link ActivationOps},
 * {@link ComparisonOps}) called directly: scalar attributes through {@code apply(x, s)} against plain
 * references and finite differences, misuse named by the op, the graph keeping its inputs when the caller refills
 * its array, and the names errors and {@code Tensor.op()} show. Part of {@link BackendConformance}.
 */
interface BuiltInOpsConformance {
    Backend suiteBackend();

    Tensor t(float[] data, int... shape);

    float[] random(int n, float lo, float hi);

    void gradCheck(String what, Function<Tensor[], Tensor> f, Tensor... inputs);

    /** {@code mulScalar}, {@code pow}, {@code addScalar} and {@code leakyRelu} take their scalar through the op. */
    @Test
    default void builtInScalarOpsMatchReferencesAndFiniteDifferences() {
        float[] v = random(3 * 7, -2, 2);
        Tensor x = t(v, 3, 7);
        float[] mul = ArithmeticOps.MUL_SCALAR.apply(x, 3f).toFloatArray();
        float[] add = ArithmeticOps.ADD_SCALAR.apply(x, -1.5f).toFloatArray();
        float[] sq = ArithmeticOps.POW.apply(x, 2f).toFloatArray();
        float[] leaky = ActivationOps.LEAKY_RELU.apply(x, 0.2f).toFloatArray();
        for (int i = 0; i < v.length; i++) {
            assertEquals(3f * v[i], mul[i], 1e-6f, "mulScalar");
            assertEquals(v[i] - 1.5f, add[i], 1e-6f, "addScalar");
            assertEquals(v[i] * v[i], sq[i], 1e-5f * (1 + v[i] * v[i]), "pow");
            assertEquals(v[i] > 0 ? v[i] : 0.2f * v[i], leaky[i], 1e-6f, "leakyRelu");
        }
        gradCheck("pow 3 through apply(x, s)", in -> ArithmeticOps.POW.apply(in[0], 3f), t(random(10, 0.5f, 2), 2, 5));
        gradCheck("mulScalar", in -> ArithmeticOps.MUL_SCALAR.apply(in[0], -2.5f), t(random(5, -1, 1), 5));
        gradCheck("leakyRelu", in -> ActivationOps.LEAKY_RELU.apply(in[0], 0.1f), t(random(7, 0.2f, 1), 7));
    }

    /** Calling a built-in op the wrong way is named by the op. */
    @Test
    default void builtInOpMisuseNamesTheOp() {
        Tensor x = t(random(6, -1, 1), 2, 3);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ArithmeticOps.MUL_SCALAR.apply(x));
        assertTrue(e.getMessage().startsWith("mulScalar: takes a scalar"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MathOps.EXP.apply(x, 2f));
        assertTrue(e.getMessage().startsWith("exp: takes no scalar"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ArithmeticOps.ADD.apply(x));
        assertTrue(e.getMessage().startsWith("add: takes 2 inputs, got 1: [2, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> x.add(t(random(4, -1, 1), 4)));
        assertTrue(e.getMessage().startsWith("add: "), e.getMessage());
        Tensor ints = Tensor.ofInts(suiteBackend(), new int[] {1, 2}, 2);
        e = assertThrows(IllegalArgumentException.class, ints::exp);
        assertEquals("exp: needs a FLOAT32 tensor, got INT32 [2]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ints.mul(2f));
        assertTrue(e.getMessage().startsWith("mulScalar: needs a FLOAT32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ints.applyKernel("myOp", UnaryOp.EXP, 0f));
        assertEquals("myOp: needs a FLOAT32 tensor, got INT32 [2]", e.getMessage());
        Tensor closed = t(random(6, -1, 1), 2, 3);
        closed.close();
        IllegalStateException s =
                assertThrows(IllegalStateException.class, () -> closed.applyKernel("myOp", UnaryOp.EXP, 0f));
        assertTrue(s.getMessage().startsWith("myOp: tensor [2, 3] was used after it was released"), s.getMessage());
    }

    /** The graph keeps the inputs an op was called with, even when the caller's array is refilled afterwards. */
    @Test
    default void builtInOpKeepsItsInputsWhenTheCallersArrayIsRefilled() {
        float[] av = random(6, -1, 1);
        float[] bv = random(6, -1, 1);
        Tensor a = t(av, 2, 3).requiresGrad(true);
        Tensor b = t(bv, 2, 3).requiresGrad(true);
        Tensor[] in = {a, b};
        Tensor y = ArithmeticOps.MUL.apply(in);
        Tensor other = t(random(6, 5, 6), 2, 3);
        in[0] = other;
        in[1] = other;
        y.sum().backward();
        assertArrayEquals(bv, a.grad().toFloatArray(), "d(a*b)/da is b");
        assertArrayEquals(av, b.grad().toFloatArray(), "d(a*b)/db is a");
    }

    /** Tensor.op() and the ops' own descriptions carry the names they had before the ops moved. */
    @Test
    default void builtInOpsKeepTheirNames() {
        Tensor x = t(random(6, 0.5f, 1), 2, 3).requiresGrad(true);
        assertEquals("mulScalar", x.mul(2f).op());
        assertEquals("addScalar", x.add(2f).op());
        assertEquals("mul", x.mul(x).op());
        assertEquals("relu", x.relu().op());
        assertEquals("sqrt", x.sqrt().op());
        assertEquals("minimum", x.minimum(x.mul(0.5f)).op());
        assertEquals(null, x.gt(0.7f).op());
        assertFalse(x.gt(0.7f).requiresGrad(), "a comparison has no gradient");
        assertFalse(ComparisonOps.GT.differentiable());
        assertTrue(ActivationOps.GELU.differentiable());
        assertEquals("Op[relu, built-in, backward]", ActivationOps.RELU.toString());
        assertTrue(ArithmeticOps.POW.takesScalar());
        assertFalse(ArithmeticOps.ADD.takesScalar());
    }
}
