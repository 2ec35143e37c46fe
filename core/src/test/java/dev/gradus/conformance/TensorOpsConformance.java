package dev.gradus.conformance;

import static dev.gradus.conformance.BackendConformance.assertClose;
import static dev.gradus.conformance.BackendConformance.broadcastIndex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.DType;
import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.DoubleBinaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The PyTorch-named tensor ops (comparisons, where, clamp, minimum, min/argmin, permute, expand, repeat, stack,
 * split/chunk, gather, scatterAdd, indexSelect, maskedSelect, get, creation) against plain references, with
 * gradients by central differences on odd shapes. Part of {@link BackendConformance}, so every backend runs it.
 */
interface TensorOpsConformance extends SuiteHelpers {
    /** Small integers as floats, so that comparisons meet ties and equal values. */
    private Tensor ints(int... shape) {
        float[] v = random(Shape.of(shape).numel(), -2, 3);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.floor(v[i]);
        }
        return t(v, shape);
    }

    private Tensor idx(int[] values, int... shape) {
        return Tensor.ofInts(suiteBackend(), values, shape);
    }

    private void checkCompare(String name, BiFunction<Tensor, Tensor, Tensor> op, DoubleBinaryOperator ref) {
        for (int[][] c : BackendConformance.BROADCAST_CASES) {
            Tensor a = ints(c[0]);
            Tensor b = ints(c[1]);
            Tensor y = op.apply(a, b);
            int[] out = y.shape().dims();
            assertEquals(DType.FLOAT32, y.dtype(), name);
            float[] av = a.toFloatArray();
            float[] bv = b.toFloatArray();
            float[] expected = new float[y.numel()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] =
                        (float) ref.applyAsDouble(av[broadcastIndex(i, out, c[0])], bv[broadcastIndex(i, out, c[1])]);
            }
            assertClose(expected, y.toFloatArray(), 0, name + " " + a.shape() + " with " + b.shape());
        }
    }

    @Test
    default void comparisonsReturnMasksAndBroadcast() {
        checkCompare("gt", Tensor::gt, (a, b) -> a > b ? 1 : 0);
        checkCompare("lt", Tensor::lt, (a, b) -> a < b ? 1 : 0);
        checkCompare("ge", Tensor::ge, (a, b) -> a >= b ? 1 : 0);
        checkCompare("le", Tensor::le, (a, b) -> a <= b ? 1 : 0);
        checkCompare("ne", Tensor::ne, (a, b) -> a != b ? 1 : 0);
        checkCompare("eq", Tensor::eq, (a, b) -> a == b ? 1 : 0);
        Tensor x = t(new float[] {-1, 0, 2, Float.NaN}, 4);
        assertArrayEquals(new float[] {0, 0, 1, 0}, x.gt(0).toFloatArray());
        assertArrayEquals(new float[] {1, 0, 0, 0}, x.lt(0).toFloatArray());
        assertArrayEquals(new float[] {0, 1, 1, 0}, x.ge(0).toFloatArray());
        assertArrayEquals(new float[] {1, 1, 0, 0}, x.le(0).toFloatArray());
        assertArrayEquals(new float[] {1, 0, 1, 1}, x.ne(0).toFloatArray(), "NaN != 0, as IEEE and PyTorch");
        assertArrayEquals(new float[] {0, 0, 1, 0}, x.eq(2).toFloatArray());
        // labels against predictions: INT32 compares as values
        Tensor labels = idx(new int[] {3, 1, 4}, 3);
        assertArrayEquals(
                new float[] {1, 0, 1}, labels.eq(t(new float[] {3, 2, 4}, 3)).toFloatArray());
        assertArrayEquals(new float[] {0, 0, 1}, labels.gt(3).toFloatArray());
    }

    @Test
    default void whereSelectsWithBroadcastingAndGradients() {
        Tensor cond = t(new float[] {1, 0, 1}, 3, 1);
        Tensor a = rand(-2, 2, 3, 4);
        Tensor b = rand(-2, 2, 4);
        Tensor y = Tensor.where(cond, a, b);
        assertArrayEquals(new int[] {3, 4}, y.shape().dims());
        float[] av = a.toFloatArray();
        float[] bv = b.toFloatArray();
        float[] expected = new float[12];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++) {
                expected[i * 4 + j] = i != 1 ? av[i * 4 + j] : bv[j];
            }
        }
        assertClose(expected, y.toFloatArray(), 0, "where");
        gradCheck("where", in -> Tensor.where(cond, in[0], in[1]), a, b);
        // a select, not arithmetic: the branch not taken may be NaN or infinite
        Tensor bad = t(new float[] {Float.NaN, Float.POSITIVE_INFINITY}, 2);
        Tensor ok = t(new float[] {1, 2}, 2);
        assertArrayEquals(
                new float[] {1, 2},
                Tensor.where(t(new float[] {0, 0}, 2), bad, ok).toFloatArray());
        // leaky ReLU composed from where
        Tensor x = t(new float[] {-2, 3}, 2);
        assertArrayEquals(
                new float[] {-0.02f, 3}, Tensor.where(x.gt(0), x, x.mul(0.01f)).toFloatArray(), 1e-7f);
    }

    @Test
    default void minimumClampMinAndArgminMatchReference() {
        Tensor a = rand(-3, 3, 3, 5);
        Tensor b = rand(-3, 3, 5);
        float[] av = a.toFloatArray();
        float[] bv = b.toFloatArray();
        float[] mins = new float[15];
        float[] clamped = new float[15];
        for (int i = 0; i < 15; i++) {
            mins[i] = Math.min(av[i], bv[i % 5]);
            clamped[i] = Math.max(-1f, Math.min(1.5f, av[i]));
        }
        assertClose(mins, a.minimum(b).toFloatArray(), 0, "minimum");
        assertClose(clamped, a.clamp(-1f, 1.5f).toFloatArray(), 0, "clamp");
        assertArrayEquals(
                new float[] {0, 0.5f, 1},
                t(new float[] {-4, 0.5f, 9}, 3).clamp(0, 1).toFloatArray());
        assertArrayEquals(
                new float[] {0, 7},
                t(new float[] {-4, 7}, 2).clamp(0, Float.POSITIVE_INFINITY).toFloatArray());
        gradCheck("minimum", in -> in[0].minimum(in[1]), 1e-3, a, b);
        gradCheck("clamp", in -> in[0].clamp(-1f, 1.5f), 1e-3, rand(-3, 3, 3, 5));
        // ties of minimum: the gradient goes to this, as maximum's
        Tensor p = t(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor q = t(new float[] {1, 1}, 2).requiresGrad(true);
        p.minimum(q).sum().backward();
        assertArrayEquals(new float[] {1, 0}, p.grad().toFloatArray());
        assertArrayEquals(new float[] {0, 1}, q.grad().toFloatArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.clamp(2, 1));
        assertTrue(e.getMessage().contains("clamp"), e.getMessage());

        Tensor x = t(new float[] {3, 1, 2, 1, 5, 0, 4, -2, -2}, 3, 3);
        assertArrayEquals(new float[] {1, 0, -2}, x.min(1, false).toFloatArray());
        assertArrayEquals(new int[] {1, 2, 1}, x.argmin(1).toIntArray(), "first minimum wins ties");
        assertArrayEquals(new int[] {1, 2, 2}, x.argmin(0).toIntArray());
        assertArrayEquals(new int[] {3, 1}, x.min(-1, true).shape().dims());
        gradCheck("min", in -> in[0].min(1, false), rand(-3, 3, 4, 5));
    }

    @Test
    default void permuteExpandAndRepeatMatchReference() {
        Tensor x = rand(-1, 1, 2, 3, 4);
        Tensor p = x.permute(2, 0, 1);
        assertArrayEquals(new int[] {4, 2, 3}, p.shape().dims());
        float[] xv = x.toFloatArray();
        float[] pv = p.toFloatArray();
        for (int c = 0; c < 4; c++) {
            for (int a = 0; a < 2; a++) {
                for (int b = 0; b < 3; b++) {
                    assertEquals(xv[(a * 3 + b) * 4 + c], pv[(c * 2 + a) * 3 + b], 0f);
                }
            }
        }
        assertArrayEquals(xv, x.permute(-3, -2, -1).toFloatArray());
        gradCheck("permute", in -> in[0].permute(1, 2, 0).mul(in[0].permute(1, 2, 0)), x);
        assertThrows(IllegalArgumentException.class, () -> x.permute(0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> x.permute(0, 1));

        Tensor col = t(new float[] {1, 2, 3}, 3, 1);
        assertArrayEquals(new float[] {1, 1, 2, 2, 3, 3}, col.expand(3, 2).toFloatArray());
        assertArrayEquals(new int[] {2, 3, 4}, col.expand(2, -1, 4).shape().dims());
        gradCheck("expand", in -> in[0].expand(2, 3, 4), rand(-1, 1, 3, 1));

        Tensor r = t(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertArrayEquals(
                new float[] {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6},
                r.repeat(2, 2).toFloatArray());
        assertArrayEquals(new int[] {3, 2, 6}, r.repeat(3, 1, 2).shape().dims());
        gradCheck("repeat", in -> in[0].repeat(2, 1, 3), rand(-1, 1, 3, 2));
    }

    @Test
    default void stackSplitAndChunk() {
        Tensor a = rand(-1, 1, 2, 3);
        Tensor b = rand(-1, 1, 2, 3);
        Tensor s0 = Tensor.stack(List.of(a, b), 0);
        assertArrayEquals(new int[] {2, 2, 3}, s0.shape().dims());
        Tensor s2 = Tensor.stack(List.of(a, b), -1);
        assertArrayEquals(new int[] {2, 3, 2}, s2.shape().dims());
        float[] av = a.toFloatArray();
        float[] bv = b.toFloatArray();
        float[] got = s2.toFloatArray();
        for (int i = 0; i < 6; i++) {
            assertEquals(av[i], got[2 * i], 0f);
            assertEquals(bv[i], got[2 * i + 1], 0f);
        }
        gradCheck("stack", in -> Tensor.stack(List.of(in[0], in[1]), 1), a, b);
        assertThrows(IllegalArgumentException.class, () -> Tensor.stack(List.of(a, rand(0, 1, 3, 2)), 0));

        Tensor x = Tensor.arange(7).reshape(7, 1);
        List<Tensor> parts = x.split(3, 0);
        assertEquals(3, parts.size());
        assertArrayEquals(new float[] {6}, parts.get(2).toFloatArray());
        List<Tensor> chunks = x.chunk(3, 0);
        assertEquals(3, chunks.size(), "chunk: ceil(7 / 3) = 3 per chunk");
        assertArrayEquals(new float[] {0, 1, 2}, chunks.get(0).toFloatArray());
        assertEquals(2, Tensor.arange(4).chunk(3, 0).size(), "chunk may return fewer, as PyTorch's");
        gradCheck("split", in -> in[0].split(2, 1).get(1).mul(3f), rand(-1, 1, 2, 5));
    }

    @Test
    default void gatherAndScatterAddMatchReferenceWithGradients() {
        Tensor x = rand(-1, 1, 3, 5);
        int[] iv = {4, 0, 0, 1, 2, 2, 3, 3};
        Tensor index = idx(iv, 2, 4); // fits x on axis 0 (2 <= 3), addresses axis 1
        Tensor g = x.gather(1, index);
        float[] xv = x.toFloatArray();
        float[] expected = new float[8];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 4; j++) {
                expected[i * 4 + j] = xv[i * 5 + iv[i * 4 + j]];
            }
        }
        assertClose(expected, g.toFloatArray(), 0, "gather axis 1");
        // repeated indices: the gradient adds up
        gradCheck("gather", in -> in[0].gather(1, index), x);
        Tensor index0 = idx(new int[] {2, 0, 1, 1, 0}, 1, 5);
        float[] e0 = new float[5];
        for (int j = 0; j < 5; j++) {
            e0[j] = xv[new int[] {2, 0, 1, 1, 0}[j] * 5 + j];
        }
        assertClose(e0, x.gather(0, index0).toFloatArray(), 0, "gather axis 0");
        // on a transposed (strided) input
        Tensor xt = x.t();
        float[] xtv = xt.contiguous().toFloatArray();
        Tensor it = idx(new int[] {0, 2, 1}, 1, 3);
        assertClose(new float[] {xtv[0], xtv[2], xtv[1]}, xt.gather(1, it).toFloatArray(), 0, "gather on a view");

        Tensor base = rand(-1, 1, 3, 5);
        Tensor src = rand(-1, 1, 2, 4);
        float[] bv = base.toFloatArray();
        float[] sv = src.toFloatArray();
        float[] want = bv.clone();
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 4; j++) {
                want[i * 5 + iv[i * 4 + j]] += sv[i * 4 + j];
            }
        }
        assertClose(want, base.scatterAdd(1, index, src).toFloatArray(), 1e-6, "scatterAdd");
        assertArrayEquals(bv, base.toFloatArray(), "scatterAdd does not change its input");
        gradCheck("scatterAdd", in -> in[0].scatterAdd(1, index, in[1]), base, src);
        // a larger source: only the part the index covers is read, and only it gets a gradient
        Tensor bigSrc = rand(-1, 1, 3, 6);
        gradCheck("scatterAdd larger source", in -> in[0].scatterAdd(1, index, in[1]), rand(-1, 1, 3, 5), bigSrc);

        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> x.gather(1, idx(new int[] {0, 5}, 1, 2)));
        assertTrue(e.getMessage().contains("gather") && e.getMessage().contains("index 5"), e.getMessage());
        IllegalArgumentException f =
                assertThrows(IllegalArgumentException.class, () -> x.gather(1, t(new float[] {0}, 1, 1)));
        assertTrue(f.getMessage().contains("INT32"), f.getMessage());
        assertThrows(IllegalArgumentException.class, () -> x.gather(1, idx(new int[] {0, 0, 0, 0}, 4, 1)));
    }

    @Test
    default void indexSelectMaskedSelectAndGet() {
        Tensor x = rand(-1, 1, 4, 3);
        float[] xv = x.toFloatArray();
        Tensor rows = x.indexSelect(0, idx(new int[] {3, 0, 3}, 3));
        assertArrayEquals(new int[] {3, 3}, rows.shape().dims());
        float[] rv = rows.toFloatArray();
        for (int j = 0; j < 3; j++) {
            assertEquals(xv[9 + j], rv[j], 0f);
            assertEquals(xv[j], rv[3 + j], 0f);
            assertEquals(xv[9 + j], rv[6 + j], 0f);
        }
        Tensor cols = x.indexSelect(-1, idx(new int[] {2, 1}, 2));
        assertArrayEquals(new float[] {xv[2], xv[1], xv[5], xv[4]}, Arrays.copyOf(cols.toFloatArray(), 4));
        gradCheck("indexSelect", in -> in[0].indexSelect(0, idx(new int[] {3, 0, 3}, 3)), x);

        Tensor v = t(new float[] {1, -2, 3, -4, 5, -6}, 2, 3);
        assertArrayEquals(new float[] {1, 3, 5}, v.maskedSelect(v.gt(0)).toFloatArray());
        // a mask that broadcasts over the rows
        assertArrayEquals(
                new float[] {1, 3, -4, -6},
                v.maskedSelect(t(new float[] {1, 0, 1}, 3)).toFloatArray());
        assertEquals(0, v.maskedSelect(v.gt(10)).numel());
        gradCheck("maskedSelect", in -> in[0].maskedSelect(v.gt(0)), rand(-1, 1, 2, 3));

        assertEquals(xv[5], x.get(1, 2), 0f);
        assertEquals(xv[11], x.get(-1, -1), 0f);
        assertEquals(xv[3], x.t().get(0, 1), 0f);
        assertEquals(7f, idx(new int[] {5, 7}, 2).get(1), 0f);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> x.get(4, 0));
        assertTrue(e.getMessage().contains("axis 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> x.get(1));
    }

    @Test
    default void creationFollowsPyTorch() {
        assertArrayEquals(new float[] {0, 1, 2, 3}, Tensor.arange(4).toFloatArray());
        assertArrayEquals(
                new float[] {1, 1.5f, 2, 2.5f}, Tensor.arange(1, 3, 0.5f).toFloatArray());
        assertArrayEquals(new float[] {5, 3}, Tensor.arange(5, 1, -2).toFloatArray());
        assertEquals(0, Tensor.arange(3, 1, 1).numel());
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0, 1, 0));
        assertArrayEquals(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, Tensor.eye(3).toFloatArray());
        Tensor m = Tensor.of(new float[][] {{1, 2, 3}, {4, 5, 6}});
        assertArrayEquals(new int[] {2, 3}, m.shape().dims());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, m.toFloatArray());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[][] {{1, 2}, {3}}));
        assertTrue(e.getMessage().contains("row 1"), e.getMessage());
        assertArrayEquals(
                new int[] {3}, Tensor.of(new float[] {1, 2, 3}).shape().dims());
        assertArrayEquals(new int[] {1}, Tensor.of(new float[] {7}).shape().dims(), "as torch.tensor([7.])");
        assertEquals(0, Tensor.scalar(7).shape().rank());
        assertArrayEquals(new float[] {0, 0}, Tensor.zeros(suiteBackend(), 2).toFloatArray());
        assertArrayEquals(new float[] {1, 1}, Tensor.ones(suiteBackend(), 2).toFloatArray());
        assertArrayEquals(new float[] {2.5f}, Tensor.full(2.5f, 1).toFloatArray());
        assertEquals(
                Tensor.rand(new Rng(5), 7).toString(),
                Tensor.rand(suiteBackend(), new Rng(5), 7).toString());
        assertEquals(
                Tensor.randn(new Rng(5), 2, 3).toString(),
                Tensor.randn(suiteBackend(), new Rng(5), 2, 3).toString());
        float[] u = Tensor.rand(new Rng(3), 1000).toFloatArray();
        for (float f : u) {
            assertTrue(f >= 0 && f < 1, "rand in [0, 1): " + f);
        }
    }

    @Test
    default void toStringPrintsLikePyTorchWithShapeAndDtype() {
        assertEquals(
                "tensor([[1., 2.],\n        [3., 4.]], shape=[2, 2], dtype=float32)",
                Tensor.of(new float[][] {{1, 2}, {3, 4}}).toString());
        assertEquals(
                "tensor([ 0.5000, -1.2500], shape=[2], dtype=float32)",
                Tensor.of(new float[] {0.5f, -1.25f}).toString());
        assertEquals(
                "tensor([3, 1], shape=[2], dtype=int32)",
                idx(new int[] {3, 1}, 2).toString());
        assertEquals("tensor(7., shape=[], dtype=float32)", Tensor.scalar(7).toString());
        assertEquals(
                "tensor([1.0000e-05, 1.0000e+00], shape=[2], dtype=float32)",
                Tensor.of(new float[] {1e-5f, 1}).toString());
        assertEquals(
                "tensor([nan, inf, 1.], shape=[3], dtype=float32)",
                Tensor.of(new float[] {Float.NaN, Float.POSITIVE_INFINITY, 1}).toString());
        // 3-D: blocks apart by a blank line, rows aligned under the first bracket
        assertEquals(
                "tensor([[[0., 1.]],\n\n        [[2., 3.]]], shape=[2, 1, 2], dtype=float32)",
                Tensor.arange(4).reshape(2, 1, 2).toString());
        // above 1000 elements: the first and last three of each long axis
        assertEquals(
                "tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], shape=[2000], dtype=float32)",
                Tensor.arange(2000).toString());
        String big = Tensor.arange(40 * 50).reshape(40, 50).toString();
        assertTrue(big.startsWith("tensor([[   0.,    1.,    2., ...,   47.,   48.,   49.],\n"), big);
        assertTrue(big.contains("        ...,\n"), big);
        assertTrue(big.endsWith("1997., 1998., 1999.]], shape=[40, 50], dtype=float32)"), big);
        Tensor w = Tensor.of(new float[] {1}).requiresGrad(true);
        assertTrue(w.toString().endsWith(", requires_grad=true)"), w.toString());
        assertTrue(w.mul(2f).toString().contains("grad_fn=<"), w.mul(2f).toString());
        Tensor gone = Tensor.of(new float[] {1});
        gone.close();
        assertEquals("tensor(<released>, shape=[1], dtype=float32)", gone.toString());
    }

    @Test
    default void mseLossMatchesReferenceAndRefusesBroadcastShapes() {
        Tensor p = rand(-2, 2, 5, 3);
        Tensor y = rand(-2, 2, 5, 3);
        float[] pv = p.toFloatArray();
        float[] yv = y.toFloatArray();
        double sum = 0;
        for (int i = 0; i < pv.length; i++) {
            sum += (pv[i] - yv[i]) * (pv[i] - yv[i]);
        }
        assertEquals(sum / pv.length, Functional.mseLoss(p, y).item(), 1e-5);
        gradCheck("mseLoss", in -> Functional.mseLoss(in[0], in[1]), p, y);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Functional.mseLoss(rand(0, 1, 4, 1), rand(0, 1, 4)));
        assertTrue(e.getMessage().contains("[4, 1]") && e.getMessage().contains("[4]"), e.getMessage());
    }
}
