package dev.gradus.ops;

import dev.gradus.Tensor;
import dev.gradus.spi.UnaryOp;
import java.nio.FloatBuffer;

/**
 * The exact GELU, PyTorch's {@code F.gelu}: {@code 0.5 x (1 + erf(x / sqrt 2))}, as the backend's erf kernel and
 * one fused pass forward, and one fused pass backward ({@code g (Phi(x) + x phi(x))}, {@code Phi(x)} read back from
 * the output as {@code out / x}, so erf runs once a step, not twice). Why: as
 * tensor ops it is 5 passes over memory forward and about 10 backward (the {@code vit} example's feed-forward
 * blocks, {@code [N, 17, 128]} each); the values are those of the composed form, bit for bit.
 *
 * <p>Shapes: any; the output has the input's.
 *
 * <pre>{@code Tensor y = GeluExact.GELU.apply(x);   // same values as x.gelu()}</pre>
 */
public final class GeluExact {
    private GeluExact() {}

    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));
    private static final float TINY = 1e-20f;

    /** {@code erf(x / sqrt 2)}, the backend's kernels, no gradient. */
    private static Tensor erfTerm(Tensor x) {
        return x.applyKernel(UnaryOp.MUL_SCALAR, INV_SQRT2).applyKernel(UnaryOp.ERF, 0f);
    }

    /** {@code 0.5 x (1 + e)} from x and {@code e = erf(x / sqrt 2)}. */
    static final Op FROM_ERF = Op.builder("geluFromErf")
            .arity(2)
            .shape(ShapeRule.sameShapes())
            .cpu(GeluExact::fromErf)
            .cuda("""
                    extern "C" __global__ void gradus_gelu_from_erf(float* out, long long n, const float* x,
                                                                    long long nx, const float* e, long long ne) {
                        long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                        if (i < n) out[i] = (x[i] * 0.5f) * (e[i] + 1.f);
                    }
                    """, "gradus_gelu_from_erf")
            .build();

    /**
     * {@code g (Phi(x) + x exp(-x^2 / 2) / sqrt(2 pi))} from g, x and the output {@code out = x Phi(x)}: {@code Phi}
     * is {@code out / x}, and 0.5 where x is within {@code TINY} of 0 (where {@code x * 0.5} could lose bits).
     */
    static final Op GRAD = Op.builder("geluGrad")
            .arity(3)
            .shape(ShapeRule.sameShapes())
            .cpu(GeluExact::grad)
            .cuda("""
                    extern "C" __global__ void gradus_gelu_grad(float* out, long long n, const float* g,
                                                                long long ng, const float* x, long long nx,
                                                                const float* y, long long ny) {
                        long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                        if (i < n) {
                            const float v = x[i];
                            const float phi = fabsf(v) < %sf ? 0.5f : y[i] / v;
                            out[i] = g[i] * (phi + v * expf(-0.5f * v * v) * %sf);
                        }
                    }
                    """.formatted(Float.toString(TINY), Float.toString(INV_SQRT_2PI)), "gradus_gelu_grad")
            .build();

    /** The exact GELU; see the class comment. */
    public static final Op GELU = Op.builder("gelu")
            .arity(1)
            .composed(in -> FROM_ERF.apply(in[0], erfTerm(in[0])))
            .backward((d, out, in) -> new Tensor[] {GRAD.apply(d, in[0], out)})
            .build();

    /** Tile of the fused passes: heap arrays that stay in cache, no allocation per element. */
    private static final int TILE = 4096;

    private static void fromErf(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int n = out.limit();
        float[] x = new float[Math.min(TILE, n)];
        float[] e = new float[x.length];
        for (int t = 0; t < n; t += TILE) {
            int m = Math.min(TILE, n - t);
            in[0].get(t, x, 0, m);
            in[1].get(t, e, 0, m);
            for (int i = 0; i < m; i++) {
                x[i] = (x[i] * 0.5f) * (e[i] + 1f);
            }
            out.put(t, x, 0, m);
        }
    }

    private static void grad(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int n = out.limit();
        float[] g = new float[Math.min(TILE, n)];
        float[] x = new float[g.length];
        float[] y = new float[g.length];
        for (int t = 0; t < n; t += TILE) {
            int m = Math.min(TILE, n - t);
            in[0].get(t, g, 0, m);
            in[1].get(t, x, 0, m);
            in[2].get(t, y, 0, m);
            for (int i = 0; i < m; i++) {
                float v = x[i];
                float phi = Math.abs(v) < TINY ? 0.5f : y[i] / v;
                g[i] = g[i] * (phi + v * (float) Math.exp(-0.5f * v * v) * INV_SQRT_2PI);
            }
            out.put(t, g, 0, m);
        }
    }
}
