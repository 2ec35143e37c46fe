package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Tensor;
import dev.gradus.ops.Op;
import dev.gradus.ops.OpBackward;
import dev.gradus.ops.ShapeRule;
import java.nio.ReadOnlyBufferException;
import org.junit.jupiter.api.Test;

/**
 * Users' ops that break {@link Op}'s contract, as an attacker or a hurried user writes them: a shape rule that
 * promises more or fewer elements than the kernel writes, a kernel that throws or writes into its inputs. Each
 * fails with one line naming the op and the shapes, on every backend alike, instead of returning whatever the
 * memory held, a bare exception, or an input changed on some backends only.
 */
interface CustomOpMisuseConformance extends SuiteHelpers {
    /** Kernels that copy their first input, whatever the output's size. */
    final class Liars {
        private Liars() {}

        /** Promises twice the input's elements, writes the input's. */
        static final Op BIGGER = Op.builder("bigger")
                .shape(shapes -> new int[] {2 * shapes[0][0]})
                .cpu((in, shapes, out, outShape) -> {
                    for (int i = 0; i < in[0].limit(); i++) {
                        out.put(i, in[0].get(i));
                    }
                })
                .build();

        /** Promises one element, writes the input's. */
        static final Op SMALLER = Op.builder("smaller")
                .shape(shapes -> new int[] {1})
                .cpu((in, shapes, out, outShape) -> {
                    for (int i = 0; i < in[0].limit(); i++) {
                        out.put(i, in[0].get(i));
                    }
                })
                .build();

        /** Rejects its values with an IllegalArgumentException of its own. */
        static final Op REJECTS = Op.builder("rejects")
                .shape(ShapeRule.likeFirst())
                .cpu((in, shapes, out, outShape) -> {
                    throw new IllegalArgumentException("no negative values");
                })
                .build();

        /** A shape rule that reads a second input the call does not have. */
        static final Op SECOND = Op.builder("second")
                .shape(shapes -> shapes[1].clone())
                .cpu((in, shapes, out, outShape) -> {})
                .build();

        /** A backward that gives no gradient at all for its one input. */
        static final Op NO_GRADS = copy("noGrads", (d, out, in) -> new Tensor[0]);

        /** A backward that returns null instead of an array. */
        static final Op NULL_GRADS = copy("nullGrads", (d, out, in) -> null);

        /** The identity with the backward {@code rule}. */
        static Op copy(String name, OpBackward rule) {
            return Op.builder(name)
                    .shape(ShapeRule.likeFirst())
                    .cpu((in, shapes, out, outShape) -> {
                        for (int i = 0; i < out.limit(); i++) {
                            out.put(i, in[0].get(i));
                        }
                    })
                    .backward(rule)
                    .build();
        }

        /** Promises a [65536, 65536] output, more elements than a tensor may hold. */
        static final Op HUGE = Op.builder("huge")
                .shape(shapes -> new int[] {65536, 65536})
                .cpu((in, shapes, out, outShape) -> {})
                .build();

        /** A composed forward that returns null. */
        static final Op NOTHING = Op.builder("nothing").composed(in -> null).build();

        /** A backward that fails with a NullPointerException of its own. */
        static final Op THROWING_BACKWARD = copy("throwingBackward", (d, out, in) -> {
            throw new NullPointerException("no state");
        });

        /** A backward that gives an INT32 gradient. */
        static final Op INT_GRADIENT = copy("intGradient", (d, out, in) -> new Tensor[] {d.argmax(0)});

        /** {@code a * b}, its backward reading both inputs from the array it is given. */
        static final Op PRODUCT = Op.builder("product")
                .arity(2)
                .shape(ShapeRule.sameShapes())
                .cpu((in, shapes, out, outShape) -> {
                    for (int i = 0; i < out.limit(); i++) {
                        out.put(i, in[0].get(i) * in[1].get(i));
                    }
                })
                .backward((d, out, in) -> new Tensor[] {d.mul(in[1]), d.mul(in[0])})
                .build();

        /** Scribbles on its input, then writes its output. */
        static final Op SCRIBBLES = Op.builder("scribbles")
                .shape(ShapeRule.likeFirst())
                .cpu((in, shapes, out, outShape) -> {
                    in[0].put(0, 99f);
                    for (int i = 0; i < out.limit(); i++) {
                        out.put(i, 1f);
                    }
                })
                .build();
    }

    /** Applying {@code op} to {@code x} throws {@code type} with exactly the message {@code says}. */
    private static void assertApplyFails(Class<? extends RuntimeException> type, Op op, Tensor x, String says) {
        assertEquals(says, assertThrows(type, () -> op.apply(x)).getMessage());
    }

    @Test
    default void customOpKernelThatWritesLessThanItsShapeRuleSaysFails() {
        Tensor x = t(new float[] {1, 2, 3}, 3);
        assertApplyFails(
                IllegalStateException.class,
                Liars.BIGGER,
                x,
                "bigger: the Java kernel left 3 of the 6 output elements unwritten for [3] -> [6]; the shape rule and"
                        + " the kernel disagree on the output's size");
    }

    @Test
    default void customOpKernelThatThrowsNamesTheOpAndTheShapes() {
        Tensor x = t(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Liars.SMALLER.apply(x));
        assertTrue(e.getMessage().startsWith("smaller: the Java kernel failed on [2, 3] -> [1]: "), e.getMessage());
        assertInstanceOf(IndexOutOfBoundsException.class, e.getCause());
        assertApplyFails(
                IllegalArgumentException.class,
                Liars.REJECTS,
                x,
                "rejects: the Java kernel failed on [2, 3] -> [2, 3]: " + IllegalArgumentException.class.getName()
                        + ": no negative values");
    }

    @Test
    default void customOpKernelCannotChangeItsInputs() {
        Tensor x = t(new float[] {1, 2, 3}, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Liars.SCRIBBLES.apply(x));
        assertInstanceOf(ReadOnlyBufferException.class, e.getCause(), e.getMessage());
        assertArrayEquals(new float[] {1, 2, 3}, x.toFloatArray(), "the input is unchanged");
    }

    @Test
    default void customOpShapeRuleThatFailsNamesTheOpAndTheShapes() {
        Tensor x = t(new float[] {1, 2, 3}, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Liars.SECOND.apply(x));
        assertTrue(
                e.getMessage()
                        .startsWith("second: the shape rule failed on [3]: "
                                + ArrayIndexOutOfBoundsException.class.getName()),
                e.getMessage());
    }

    @Test
    default void customOpBackwardWithTheWrongNumberOfGradientsFails() {
        for (Op op : new Op[] {Liars.NO_GRADS, Liars.NULL_GRADS}) {
            Tensor x = t(new float[] {1, 2, 3}, 3).requiresGrad(true);
            Tensor loss = op.apply(x).sum();
            IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward, op.name());
            assertEquals(
                    op.name() + ": the backward gave " + (op == Liars.NO_GRADS ? "0 gradients" : "null")
                            + " for 1 inputs [3]; return one per input, null where none is needed",
                    e.getMessage());
        }
    }

    @Test
    default void customOpOutputTooLargeOrMissingNamesTheOp() {
        Tensor x = t(new float[] {1, 2, 3}, 3);
        assertApplyFails(
                IllegalArgumentException.class,
                Liars.HUGE,
                x,
                "huge: the shape rule gave [65536, 65536] for [3], 4294967296 elements, more than the 2^31-1 a tensor"
                        + " may hold");
        assertApplyFails(
                IllegalStateException.class, Liars.NOTHING, x, "nothing: the composed forward returned null for [3]");
    }

    @Test
    default void customOpBackwardThatFailsOrGivesAnIntegerGradientNamesTheOp() {
        Tensor x = t(new float[] {1, 2, 3}, 3).requiresGrad(true);
        Tensor loss = Liars.THROWING_BACKWARD.apply(x).sum();
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertEquals(
                "throwingBackward: the backward failed for [3] -> [3]: " + NullPointerException.class.getName()
                        + ": no state",
                e.getMessage());
        Tensor y = t(new float[] {1, 2, 3}, 3).requiresGrad(true);
        Tensor loss2 = Liars.INT_GRADIENT.apply(y).sum();
        IllegalStateException i = assertThrows(IllegalStateException.class, loss2::backward);
        assertTrue(
                i.getMessage().startsWith("intGradient: the backward's gradient for input 0 [3] is INT32 [] on "),
                i.getMessage());
    }

    @Test
    default void customOpBackwardSeesTheInputsOfItsCallWhenTheCallersArrayIsReused() {
        // A caller that fills one array per step (a recurrence) and passes it to apply.
        Tensor a = t(new float[] {1, 2, 3}, 3).requiresGrad(true);
        Tensor b = t(new float[] {4, 5, 6}, 3).requiresGrad(true);
        Tensor[] args = {a, b};
        Tensor first = Liars.PRODUCT.apply(args);
        args[0] = t(new float[] {-7, -8, -9}, 3);
        args[1] = t(new float[] {10, 11, 12}, 3);
        Tensor second = Liars.PRODUCT.apply(args);
        first.add(second).sum().backward();
        assertNotNull(a.grad(), "a has a gradient");
        assertNotNull(b.grad(), "b has a gradient");
        assertArrayEquals(new float[] {4, 5, 6}, a.grad().toFloatArray(), "d/da of a * b is b");
        assertArrayEquals(new float[] {1, 2, 3}, b.grad().toFloatArray(), "d/db of a * b is a");
    }
}
