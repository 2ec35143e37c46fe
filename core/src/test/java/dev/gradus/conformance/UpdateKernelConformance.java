package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.spi.Backend;
import dev.gradus.spi.CudaSource;
import dev.gradus.spi.Operand;
import dev.gradus.spi.UpdateKernels;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * {@link Backend#runUpdate}, the route of optimizers' fused steps: an elementwise in-place update of two operands
 * from two inputs and two scalars, with a CUDA source, against a plain Java reference on odd shapes and on offset
 * views (the elements around them untouched); the same update without a CUDA source, and through the default
 * host-copy path ({@link UpdateKernels#runOnHost}); the errors. Part of {@link BackendConformance}, so every backend
 * runs it (the CUDA backend its CUDA source on the emulator, the reference backend in three ranges).
 */
interface UpdateKernelConformance {
    Backend suiteBackend();

    float[] random(int n, float lo, float hi);

    /** {@code y = a y + x w; z = z + b y} element by element: what the update under test computes. */
    final class Axpby {
        private Axpby() {}

        static final String CUDA = """
                extern "C" __global__ void gradus_test_axpby(float* y, long long n, float* z, long long nz,
                                                             const float* x, long long nx, const float* w,
                                                             long long nw, float a, float b) {
                    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                    if (i < n) {
                        float y1 = a * y[i] + x[i] * w[i];
                        y[i] = y1;
                        z[i] = z[i] + b * y1;
                    }
                }
                """;

        static void java(FloatBuffer[] u, FloatBuffer[] in, float[] s, int from, int to) {
            for (int i = from; i < to; i++) {
                float y1 = s[0] * u[0].get(i) + in[0].get(i) * in[1].get(i);
                u[0].put(i, y1);
                u[1].put(i, u[1].get(i) + s[1] * y1);
            }
        }

        static final UpdateKernels WITH_CUDA =
                new UpdateKernels("axpby", 2, 2, 2, Axpby::java, new CudaSource(CUDA, "gradus_test_axpby"));

        static final UpdateKernels JAVA_ONLY = new UpdateKernels("axpbyJava", 2, 2, 2, Axpby::java, null);
    }

    private static Operand[] ops(Tensor... ts) {
        Operand[] o = new Operand[ts.length];
        for (int j = 0; j < ts.length; j++) {
            o[j] = ts[j].operand();
        }
        return o;
    }

    /** Runs {@code k} on fresh operands of {@code shape} (offset by {@code pad} elements when > 0) and checks them. */
    private void checkOne(UpdateKernels k, boolean onHost, int[] shape, int pad) {
        Backend be = suiteBackend();
        int n = Shape.of(shape).numel();
        float a = 0.75f;
        float b = -1.5f;
        float[][] host = new float[4][];
        Tensor[] t = new Tensor[4];
        for (int j = 0; j < 4; j++) {
            host[j] = random(n + 2 * pad, -2f, 2f);
            Tensor whole = Tensor.of(be, host[j], n + 2 * pad);
            t[j] = pad == 0 ? whole.reshape(shape) : whole.narrow(0, pad, n);
        }
        float[][] want = {host[0].clone(), host[1].clone()};
        for (int i = pad; i < pad + n; i++) {
            float y1 = a * host[0][i] + host[2][i] * host[3][i];
            want[0][i] = y1;
            want[1][i] = host[1][i] + b * y1;
        }
        Operand[] updated = ops(t[0], t[1]);
        Operand[] inputs = ops(t[2], t[3]);
        float[] scalars = {a, b};
        if (onHost) {
            k.runOnHost(be, updated, inputs, scalars);
        } else {
            be.runUpdate(k, updated, inputs, scalars);
        }
        String what =
                k.name() + (onHost ? " on host copies" : "") + " on " + Arrays.toString(shape) + " padded by " + pad;
        for (int j = 0; j < 2; j++) {
            float[] got = new float[n + 2 * pad];
            be.read(t[j].operand().storage(), 0, got, 0, got.length);
            for (int i = 0; i < got.length; i++) {
                float tol = i < pad || i >= pad + n ? 0f : 1e-6f * Math.max(1f, Math.abs(want[j][i]));
                assertEquals(want[j][i], got[i], tol, what + ": operand " + j + " element " + i);
            }
        }
        for (int j = 2; j < 4; j++) {
            float[] got = new float[n + 2 * pad];
            be.read(t[j].operand().storage(), 0, got, 0, got.length);
            assertEquals(Arrays.toString(host[j]), Arrays.toString(got), what + ": input " + j + " changed");
        }
    }

    @Test
    default void anUpdateRewritesItsOperandsInPlaceOnOddShapesAndOffsetViews() {
        int[][] shapes = {{1}, {7}, {3, 5}, {2, 3, 5}, {64, 33}, {0, 3}, {1000, 7}};
        for (UpdateKernels k : new UpdateKernels[] {Axpby.WITH_CUDA, Axpby.JAVA_ONLY}) {
            for (int[] shape : shapes) {
                checkOne(k, false, shape, 0);
                checkOne(k, false, new int[] {Shape.of(shape).numel()}, 3);
            }
        }
        for (int[] shape : shapes) {
            checkOne(Axpby.WITH_CUDA, true, shape, 0);
            checkOne(Axpby.WITH_CUDA, true, new int[] {Shape.of(shape).numel()}, 2);
        }
    }

    @Test
    default void anUpdateChecksItsOperands() {
        Backend be = suiteBackend();
        Tensor y = Tensor.full(be, 1f, 8);
        Tensor z = Tensor.full(be, 1f, 8);
        Tensor x = Tensor.full(be, 1f, 8);
        Tensor w = Tensor.full(be, 1f, 8);
        float[] s = {1f, 1f};
        UpdateKernels k = Axpby.WITH_CUDA;
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> be.runUpdate(k, ops(y), ops(x, w), s));
        assertEquals("axpby: takes 2 updated operands, 2 inputs and 2 scalars, got 1, 2 and 2", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.runUpdate(k, ops(y, z), ops(x, w), new float[] {1f}));
        assertEquals("axpby: takes 2 updated operands, 2 inputs and 2 scalars, got 2, 2 and 1", e.getMessage());
        Tensor m = Tensor.full(be, 1f, 2, 4);
        e = assertThrows(
                IllegalArgumentException.class,
                () -> be.runUpdate(
                        k, ops(y.reshape(4, 2), z.reshape(4, 2)), ops(m.transpose(0, 1), w.reshape(4, 2)), s));
        assertTrue(
                e.getMessage().startsWith("axpby: operands must be contiguous FLOAT32, got FLOAT32"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> be.runUpdate(k, ops(y, z), ops(x.narrow(0, 0, 4), w), s));
        assertEquals("axpby: operands of 8 and 4 elements", e.getMessage());
        Tensor ints = Tensor.ofInts(be, new int[8], 8);
        e = assertThrows(IllegalArgumentException.class, () -> be.runUpdate(k, ops(y, z), ops(ints, w), s));
        assertTrue(e.getMessage().startsWith("axpby: operands must be contiguous FLOAT32, got INT32"), e.getMessage());
        Tensor base = Tensor.full(be, 1f, 16);
        e = assertThrows(
                IllegalArgumentException.class,
                () -> be.runUpdate(k, ops(base.narrow(0, 0, 8), z), ops(base.narrow(0, 8, 8), w), s));
        assertEquals(
                "axpby: updated operand 0 shares its storage with operand 2; an updated operand needs a storage of"
                        + " its own",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.runUpdate(k, ops(y, y), ops(x, w), s));
        assertTrue(
                e.getMessage().startsWith("axpby: updated operand 0 shares its storage with operand 1"),
                e.getMessage());
        assertEquals("[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]", Arrays.toString(y.toFloatArray()), "y untouched");
    }

    @Test
    default void aJavaKernelThatFailsOrWritesAnInputIsNamed() {
        Backend be = suiteBackend();
        Tensor y = Tensor.full(be, 1f, 5);
        Tensor x = Tensor.full(be, 2f, 5);
        UpdateKernels throwing = new UpdateKernels(
                "throwingUpdate",
                1,
                1,
                0,
                (u, in, s, from, to) -> {
                    throw new IllegalArgumentException("no");
                },
                null);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> be.runUpdate(throwing, ops(y), ops(x), new float[0]));
        assertTrue(e.getMessage().startsWith("throwingUpdate: the Java kernel failed on elements ["), e.getMessage());
        assertTrue(
                e.getMessage().endsWith("of 5: " + IllegalArgumentException.class.getName() + ": no"), e.getMessage());
        UpdateKernels writesInput = new UpdateKernels(
                "writesInput",
                1,
                1,
                0,
                (u, in, s, from, to) -> {
                    for (int i = from; i < to; i++) {
                        in[0].put(i, 0f);
                    }
                },
                null);
        IllegalStateException s = assertThrows(
                IllegalStateException.class, () -> be.runUpdate(writesInput, ops(y), ops(x), new float[0]));
        assertTrue(s.getMessage().startsWith("writesInput: the Java kernel failed on elements ["), s.getMessage());
        assertTrue(s.getMessage().contains("ReadOnlyBufferException"), s.getMessage());
        assertEquals("[2.0, 2.0, 2.0, 2.0, 2.0]", Arrays.toString(x.toFloatArray()), "x untouched");
    }
}
