package dev.gradus.optim;

import dev.gradus.GradMode;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.Parameter;
import dev.gradus.spi.CudaSource;
import dev.gradus.spi.Operand;
import dev.gradus.spi.UpdateKernels;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

/**
 * Adam with PyTorch semantics, bias correction included; {@code decoupled} gives AdamW. The step is written twice
 * from one set of hyper-parameters: in tensor ops ({@code fused} off, the reference) and as one fused in-place
 * kernel over the parameter, both moments and the gradient ({@link #STEP}: Java, and CUDA beside it), which every
 * backend runs through {@code Backend.runUpdate}; {@code OptimizerConformance} checks that the two agree.
 *
 * <p>Shapes: the moments have their parameter's shape.
 *
 * <pre>{@code new Adam(model.parameters(), Adam.Config.lr(0.001f))}</pre>
 */
public final class Adam extends Optimizer {
    /**
     * Adam hyper-parameters; defaults as {@code torch.optim.Adam}.
     *
     * @param weightDecay L2 penalty added to the gradient, or decoupled weight decay when {@code decoupled}
     * @param fused one fused kernel per parameter ({@link #STEP}, the default) rather than tensor ops, as
     *     {@code torch.optim.Adam}'s {@code fused}
     */
    public record Config(
            float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled, boolean fused) {
        public Config {
            // Messages name the value: "this" would print zeros, the fields are not assigned yet.
            if (!(lr > 0) || Float.isInfinite(lr)) { // as setLr and Checkpoint: an infinite rate makes NaN weights
                throw new IllegalArgumentException("Adam: lr must be finite and > 0, got " + lr);
            }
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("Adam: betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("Adam: eps must be > 0, got " + eps);
            }
            if (!(weightDecay >= 0)) {
                throw new IllegalArgumentException("Adam: weightDecay must be >= 0, got " + weightDecay);
            }
        }

        /** A config with the fused step, as before {@code fused} existed. */
        public Config(float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
            this(lr, beta1, beta2, eps, weightDecay, decoupled, true);
        }

        /** PyTorch's defaults with learning rate {@code lr}: betas (0.9, 0.999), eps 1e-8, no decay. */
        public static Config lr(float lr) {
            return new Config(lr, 0.9f, 0.999f, 1e-8f, 0f, false, true);
        }

        /** This config with other betas. */
        public Config withBetas(float b1, float b2) {
            return new Config(lr, b1, b2, eps, weightDecay, decoupled, fused);
        }

        /** This config with {@code eps}. */
        public Config withEps(float e) {
            return new Config(lr, beta1, beta2, e, weightDecay, decoupled, fused);
        }

        /** This config with L2 weight decay (Adam) or, if {@code decoupled}, AdamW's decay. */
        public Config withWeightDecay(float wd, boolean decoupledDecay) {
            return new Config(lr, beta1, beta2, eps, wd, decoupledDecay, fused);
        }

        /** This config with the fused kernel ({@code true}, the default) or tensor ops. */
        public Config withFused(boolean f) {
            return new Config(lr, beta1, beta2, eps, weightDecay, decoupled, f);
        }
    }

    /** {@link #STEP}'s CUDA kernel, one thread per element: {@link #fusedStep}'s arithmetic. */
    private static final String CUDA = """
            extern "C" __global__ void gradus_adam_step(float* param, long long n, float* m, long long nm, float* v,
                                                        long long nv, const float* grad, long long ng, float decay,
                                                        float l2, float beta1, float beta2, float stepSize,
                                                        float invSqrtBc2, float eps) {
                long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (i >= n) {
                    return;
                }
                float p = param[i] * decay;
                float g = grad[i] + l2 * p;
                float mi = beta1 * m[i] + (1.f - beta1) * g;
                float vi = beta2 * v[i] + (1.f - beta2) * g * g;
                m[i] = mi;
                v[i] = vi;
                param[i] = p - stepSize * mi / (sqrtf(vi) * invSqrtBc2 + eps);
            }
            """;

    /**
     * The fused step: updates {@code param}, {@code m}, {@code v} in place from {@code grad} with the scalars of
     * {@link Hyper#scalars}, element by element as {@link #tensorStep} does in tensor ops.
     */
    static final UpdateKernels STEP =
            new UpdateKernels("adamStep", 3, 1, 7, Adam::fusedStep, new CudaSource(CUDA, "gradus_adam_step"));

    private final Config config;
    private final StateBuffers m;
    private final StateBuffers v;

    /** An optimizer over {@code params}. */
    public Adam(List<Parameter> params, Config config) {
        super(params, config.lr());
        this.config = config;
        this.m = new StateBuffers(params.size());
        this.v = new StateBuffers(params.size());
    }

    @Override
    protected void update(int i, Parameter p, Tensor grad) {
        Tensor mi = m.get(i, p);
        Tensor vi = v.get(i, p);
        Hyper h = Hyper.of(config, lr(), step);
        if (config.fused()) {
            p.backend()
                    .runUpdate(
                            STEP,
                            new Operand[] {p.operand(), mi.operand(), vi.operand()},
                            new Operand[] {grad.operand()},
                            h.scalars());
        } else {
            tensorStep(p, grad, mi, vi, h);
        }
    }

    /**
     * One step's numbers, derived once for both forms of the step: the bias corrections in double precision, as
     * PyTorch does.
     *
     * @param decay what the weights are multiplied by first: {@code 1 - lr * weightDecay} for AdamW, else 1
     * @param l2 the L2 coefficient added to the gradient: {@code weightDecay} for Adam, 0 for AdamW
     * @param stepSize {@code lr / (1 - beta1^step)}
     * @param invSqrtBc2 {@code 1 / sqrt(1 - beta2^step)}
     */
    record Hyper(float decay, float l2, float beta1, float beta2, float stepSize, float invSqrtBc2, float eps) {
        static Hyper of(Config c, float lr, long step) {
            return new Hyper(
                    c.decoupled() ? 1f - lr * c.weightDecay() : 1f,
                    c.decoupled() ? 0f : c.weightDecay(),
                    c.beta1(),
                    c.beta2(),
                    (float) (lr / (1 - Math.pow(c.beta1(), step))),
                    (float) (1 / Math.sqrt(1 - Math.pow(c.beta2(), step))),
                    c.eps());
        }

        /** The fused kernel's scalars, in this record's order. */
        float[] scalars() {
            return new float[] {decay, l2, beta1, beta2, stepSize, invSqrtBc2, eps};
        }
    }

    /** The step in tensor ops, PyTorch's formulas one op at a time (not recorded; intermediates freed). */
    static void tensorStep(Tensor param, Tensor grad, Tensor m, Tensor v, Hyper h) {
        try (Scope scope = Scope.open();
                GradMode off = GradMode.noGrad()) {
            Tensor p = param.mul(h.decay()); // AdamW's decoupled decay
            Tensor g = grad.add(p.mul(h.l2())); // Adam's L2 penalty
            Tensor m1 = m.mul(h.beta1()).add(g.mul(1f - h.beta1()));
            Tensor v1 = v.mul(h.beta2()).add(g.mul(1f - h.beta2()).mul(g));
            Tensor denom = v1.sqrt().mul(h.invSqrtBc2()).add(h.eps()); // sqrt(v / (1 - beta2^t)) + eps
            m.copyFrom(m1);
            v.copyFrom(v1);
            param.copyFrom(p.sub(m1.mul(h.stepSize()).div(denom)));
        }
    }

    /** {@link #STEP}'s Java kernel: {@link #tensorStep}'s arithmetic per element, tile by tile. */
    private static void fusedStep(FloatBuffer[] u, FloatBuffer[] in, float[] s, int from, int to) {
        float decay = s[0];
        float l2 = s[1];
        float b1 = s[2];
        float b2 = s[3];
        float stepSize = s[4];
        float invSqrtBc2 = s[5];
        float eps = s[6];
        float c1 = 1f - b1;
        float c2 = 1f - b2;
        float[][] tiles = StepTiles.get();
        float[] p = tiles[0];
        float[] g = tiles[1];
        float[] m = tiles[2];
        float[] v = tiles[3];
        for (int t = from; t < to; t += StepTiles.TILE) {
            int k = Math.min(StepTiles.TILE, to - t);
            u[0].get(t, p, 0, k);
            u[1].get(t, m, 0, k);
            u[2].get(t, v, 0, k);
            in[0].get(t, g, 0, k);
            for (int i = 0; i < k; i++) {
                float pi = p[i] * decay;
                float gi = g[i] + l2 * pi;
                float mi = b1 * m[i] + c1 * gi;
                float vi = b2 * v[i] + c2 * gi * gi;
                m[i] = mi;
                v[i] = vi;
                p[i] = pi - stepSize * mi / ((float) Math.sqrt(vi) * invSqrtBc2 + eps);
            }
            u[0].put(t, p, 0, k);
            u[1].put(t, m, 0, k);
            u[2].put(t, v, 0, k);
        }
    }

    @Override
    protected void putState(Map<String, Tensor> out) {
        for (int i = 0; i < params.size(); i++) {
            if (m.peek(i) != null) {
                out.put("exp_avg." + i, m.peek(i));
                out.put("exp_avg_sq." + i, v.peek(i));
            }
        }
    }

    @Override
    protected void restoreState(Map<String, float[]> state) {
        for (int i = 0; i < params.size(); i++) {
            if (state.containsKey("exp_avg." + i)) {
                m.restore(i, params.get(i), state.get("exp_avg." + i));
                v.restore(i, params.get(i), state.get("exp_avg_sq." + i));
            } else {
                m.reset(i);
                v.reset(i);
            }
        }
    }

    @Override
    protected List<String> stateNames() {
        return List.of("exp_avg", "exp_avg_sq");
    }

    @Override
    protected boolean needsState() {
        return true;
    }

    @Override
    protected void releaseState() {
        m.close();
        v.close();
    }
}
