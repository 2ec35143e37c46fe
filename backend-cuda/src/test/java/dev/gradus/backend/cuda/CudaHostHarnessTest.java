package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.Layout;
import dev.gradus.spi.UnaryOp;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernels' per-element code (ops, strided indexing, pooling), compiled by nvcc for the host and run
 * on the CPU against Java references, plus the struct layout the Java side packs: what can be checked of the
 * CUDA kernels without a GPU. Skipped, with the reason, when nvcc is not on the PATH.
 */
class CudaHostHarnessTest {
    @TempDir
    static Path dir;

    static Path harness;

    @BeforeAll
    static void build() throws Exception {
        String nvcc = CudaKernelSourcesTest.nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH: the kernels' host harness was not built");
        for (String s : List.of("common.cuh", "elementwise.cu", "pool.cu")) {
            Files.writeString(dir.resolve(s), s.equals(CudaKernels.HEADER) ? CudaKernels.header() : CudaKernels.raw(s));
        }
        try (var in = CudaHostHarnessTest.class.getResourceAsStream("/host-harness.cu")) {
            Files.write(dir.resolve("host-harness.cu"), in.readAllBytes());
        }
        harness = dir.resolve("harness");
        Process p = new ProcessBuilder(
                        nvcc,
                        "-O2",
                        "-std=c++17",
                        "-I",
                        dir.toString(),
                        "-o",
                        harness.toString(),
                        dir.resolve("host-harness.cu").toString())
                .redirectErrorStream(true)
                .start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(180, TimeUnit.SECONDS);
        assertEquals(0, p.exitValue(), "nvcc host-harness.cu:\n" + log);
    }

    private static List<String> run(String input) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(harness.toString()).start();
        p.getOutputStream().write(input.getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().close();
        List<String> out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)
                .lines()
                .toList();
        p.waitFor(30, TimeUnit.SECONDS);
        assertEquals(
                0,
                p.exitValue(),
                "harness exit for input starting " + input.substring(0, Math.min(40, input.length())));
        return out;
    }

    /** A float as C's printf writes it ({@code inf}, {@code -nan} included). */
    private static float f(String c) {
        return switch (c.replace("-nan", "nan")) {
            case "inf" -> Float.POSITIVE_INFINITY;
            case "-inf" -> Float.NEGATIVE_INFINITY;
            case "nan" -> Float.NaN;
            default -> Float.parseFloat(c);
        };
    }

    private static void close(double expected, float actual, String what) {
        if (expected == actual) {
            return;
        }
        double err = Math.abs(expected - actual) / Math.max(1.0, Math.abs(expected));
        if (!(err <= 2e-6) && !(Double.isNaN(expected) && Float.isNaN(actual))) {
            throw new AssertionError(what + ": expected " + expected + ", kernel gave " + actual);
        }
    }

    @Test
    void theStructMatchesWhatJavaPacks() throws Exception {
        assertEquals(
                List.of(KernelLayout.BYTES + " " + KernelLayout.OFFSET_OF_RANK + " " + KernelLayout.OFFSET_OF_OFFSET
                        + " " + KernelLayout.OFFSET_OF_SHAPE + " " + KernelLayout.OFFSET_OF_STRIDES),
                run("struct\n"));
    }

    @Test
    void packedLayoutsIndexLikeJava() throws Exception {
        // a transposed view with an offset, and a [3, 1] column broadcast to [2, 3, 4]
        Layout transposed = new Layout(new int[] {4, 3}, new int[] {1, 4}, 5);
        Layout column = new Layout(new int[] {2, 3, 4}, new int[] {0, 1, 0}, 2);
        for (Layout l : List.of(transposed, column)) {
            ByteBuffer b = KernelLayout.pack(l);
            StringBuilder in = new StringBuilder("layout\n");
            for (int i = 0; i < KernelLayout.BYTES; i++) {
                in.append(String.format("%02x", b.get(i) & 0xFF));
            }
            in.append('\n').append(l.rank());
            for (int s : l.shape()) {
                in.append(' ').append(s);
            }
            List<String> got = run(in.append('\n').toString());
            int n = l.numel();
            assertEquals(n, got.size());
            for (int flat = 0; flat < n; flat++) {
                long idx = l.offset();
                int rem = flat;
                for (int d = l.rank() - 1; d >= 0; d--) {
                    idx += (long) (rem % l.shape()[d]) * l.strides()[d];
                    rem /= l.shape()[d];
                }
                assertEquals(Long.toString(idx), got.get(flat), l + " element " + flat);
            }
        }
    }

    @Test
    void everyElementwiseOpMatchesItsReference() throws Exception {
        Random rnd = new Random(7);
        float[] xs = new float[41];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) (rnd.nextGaussian() * 3);
        }
        xs[0] = 0f;
        xs[1] = 2.5f;
        float s = 1.7f;
        for (UnaryOp op : UnaryOp.values()) {
            DoubleUnaryOperator ref = switch (op) {
                case IDENTITY -> x -> x;
                case NEG -> x -> -x;
                case EXP -> Math::exp;
                case LOG -> Math::log;
                case SQRT -> Math::sqrt;
                case ABS -> Math::abs;
                case RELU -> x -> Math.max(0, x);
                case SIGMOID -> x -> 1 / (1 + Math.exp(-x));
                case TANH -> Math::tanh;
                case ADD_SCALAR -> x -> x + s;
                case MUL_SCALAR -> x -> x * s;
                case POW_SCALAR -> x -> Math.pow(x, s);
                case GT_SCALAR -> x -> x > s ? 1 : 0;
                case ERF -> dev.gradus.conformance.BackendConformance::refErf;
                case SIN -> Math::sin;
                case COS -> Math::cos;
            };
            StringBuilder in = new StringBuilder("unary " + op.ordinal() + " " + s + " " + xs.length);
            for (float x : xs) {
                in.append(' ').append(x);
            }
            List<String> got = run(in.append('\n').toString());
            for (int i = 0; i < xs.length; i++) {
                close(ref.applyAsDouble(xs[i]), f(got.get(i)), op + "(" + xs[i] + ")");
            }
        }
        for (BinaryOp op : BinaryOp.values()) {
            DoubleBinaryOperator ref = switch (op) {
                case ADD -> Double::sum;
                case SUB -> (a, b) -> a - b;
                case MUL -> (a, b) -> a * b;
                case DIV -> (a, b) -> a / b;
                case MAXIMUM -> Math::max;
                case MINIMUM -> Math::min;
                case EQ -> (a, b) -> a == b ? 1 : 0;
                case NE -> (a, b) -> a != b ? 1 : 0;
                case GT -> (a, b) -> a > b ? 1 : 0;
                case LT -> (a, b) -> a < b ? 1 : 0;
                case GE -> (a, b) -> a >= b ? 1 : 0;
                case LE -> (a, b) -> a <= b ? 1 : 0;
                case MASK -> (a, b) -> b != 0 ? a : 0;
                case RELU_GRAD -> (a, b) -> b > 0 ? a : 0;
                case SIGMOID_GRAD -> (a, b) -> a * b * (1 - b);
                case TANH_GRAD -> (a, b) -> a * (1 - b * b);
            };
            StringBuilder in = new StringBuilder("binary " + op.ordinal() + " " + xs.length);
            for (int i = 0; i < xs.length; i++) {
                float b = i % 5 == 0 ? xs[i] : xs[(i * 7) % xs.length];
                in.append(' ').append(xs[i]).append(' ').append(b);
            }
            List<String> got = run(in.append('\n').toString());
            for (int i = 0; i < xs.length; i++) {
                float a = xs[i];
                float b = i % 5 == 0 ? xs[i] : xs[(i * 7) % xs.length];
                close(ref.applyAsDouble(a, b), f(got.get(i)), op + "(" + a + ", " + b + ")");
            }
        }
    }

    @Test
    void poolingWindowsMatchTheCpuBackendsRule() throws Exception {
        Random rnd = new Random(5);
        int h = 7;
        int w = 6;
        float[] in = tiedImage(rnd, h * w);
        int[][] configs = {{2, 2, 2, 2, 0, 0}, {3, 3, 2, 2, 1, 1}, {3, 2, 1, 2, 1, 0}};
        for (int op = 0; op < 2; op++) {
            for (int[] k : configs) {
                List<String> got = runPool("pool", op, h, w, k, in);
                int oh = (h + 2 * k[4] - k[0]) / k[2] + 1;
                int ow = (w + 2 * k[5] - k[1]) / k[3] + 1;
                assertEquals(oh * ow, got.size());
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        float best = Float.NEGATIVE_INFINITY;
                        int bestAt = -1;
                        float sum = 0;
                        for (int r = 0; r < k[0]; r++) {
                            int yy = y * k[2] - k[4] + r;
                            for (int s = 0; s < k[1]; s++) {
                                int xx = x * k[3] - k[5] + s;
                                if (yy < 0 || yy >= h || xx < 0 || xx >= w) {
                                    continue;
                                }
                                float v = in[yy * w + xx];
                                sum += v;
                                if (v > best || bestAt < 0) {
                                    best = v;
                                    bestAt = yy * w + xx;
                                }
                            }
                        }
                        String[] parts = got.get(y * ow + x).split(" ");
                        String what = (op == 0 ? "max" : "avg") + Arrays.toString(k) + " at " + y + "," + x;
                        close(op == 0 ? best : sum / (k[0] * k[1]), f(parts[0]), what);
                        if (op == 0) {
                            assertEquals(bestAt, Integer.parseInt(parts[1]), what + " argmax");
                        }
                    }
                }
            }
        }
    }

    @Test
    void poolingGradientsGatherWhatTheCpuScatters() throws Exception {
        Random rnd = new Random(6);
        int h = 7;
        int w = 6;
        float[] in = tiedImage(rnd, h * w);
        int[][] configs = {{2, 2, 2, 2, 0, 0}, {3, 3, 2, 2, 1, 1}, {3, 2, 1, 2, 1, 0}, {3, 3, 1, 1, 1, 1}};
        for (int op = 0; op < 2; op++) {
            for (int[] k : configs) {
                List<String> got = runPool("poolgrad", op, h, w, k, in);
                int oh = (h + 2 * k[4] - k[0]) / k[2] + 1;
                int ow = (w + 2 * k[5] - k[1]) / k[3] + 1;
                // the CPU backend's scatter: each output sends its gradient to its argmax, or evenly to its window
                double[] expected = new double[h * w];
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        float g = 1f + y * ow + x;
                        float best = Float.NEGATIVE_INFINITY;
                        int bestAt = -1;
                        for (int r = 0; r < k[0]; r++) {
                            for (int s = 0; s < k[1]; s++) {
                                int yy = y * k[2] - k[4] + r;
                                int xx = x * k[3] - k[5] + s;
                                if (yy < 0 || yy >= h || xx < 0 || xx >= w) {
                                    continue;
                                }
                                if (op == 1) {
                                    expected[yy * w + xx] += g / (k[0] * k[1]);
                                } else if (in[yy * w + xx] > best || bestAt < 0) {
                                    best = in[yy * w + xx];
                                    bestAt = yy * w + xx;
                                }
                            }
                        }
                        if (op == 0) {
                            expected[bestAt] += g;
                        }
                    }
                }
                assertEquals(h * w, got.size());
                for (int i = 0; i < h * w; i++) {
                    close(
                            expected[i],
                            f(got.get(i)),
                            (op == 0 ? "max" : "avg") + Arrays.toString(k) + " gradient of input " + i);
                }
            }
        }
    }

    /** Whole numbers, so that windows hold ties. */
    private static float[] tiedImage(Random rnd, int n) {
        float[] in = new float[n];
        for (int i = 0; i < n; i++) {
            in[i] = (float) Math.round(rnd.nextGaussian() * 4);
        }
        return in;
    }

    /** Runs the harness's {@code pool} or {@code poolgrad} mode: {@code k} = kh, kw, sh, sw, ph, pw. */
    private static List<String> runPool(String mode, int op, int h, int w, int[] k, float[] in) throws Exception {
        StringBuilder sb = new StringBuilder(mode + " " + op + " " + h + " " + w);
        for (int v : k) {
            sb.append(' ').append(v);
        }
        sb.append('\n');
        appendAll(sb, in);
        return run(sb.toString());
    }

    private static void appendAll(StringBuilder sb, float[] v) {
        List<String> parts = new ArrayList<>();
        for (float x : v) {
            parts.add(Float.toString(x));
        }
        sb.append(String.join(" ", parts)).append('\n');
    }
}
