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
 * Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, PyTorch semantics. The step is
 * written twice from one set of hyper-parameters: in tensor ops ({@code fused} off, the reference) and as a fused
 * in-place kernel ({@link #STEP} without momentum, {@link #MOMENTUM_STEP} with it: Java, and CUDA beside it), which
 * every backend runs through {@code Backend.runUpdate}; {@code OptimizerConformance} checks that the two agree.
 *
 * <p>Shapes: the momentum buffer has its parameter's shape.
 *
 * <pre>{@code new SGD(model.parameters(), SGD.Config.lr(0.1f).withMomentum(0.9f, true))}</pre>
 */
public final class SGD extends Optimizer {
    /**
     * SGD hyper-parameters; defaults as {@code torch.optim.SGD}.
     *
     * @param fused one fused kernel per parameter (the default) rather than tensor ops, as {@code torch.optim.SGD}'s
     *     {@code fused}
     */
    public record Config(
            float lr, float momentum, float dampening, float weightDecay, boolean nesterov, boolean fused) {
        public Config {
            // Messages name the value: "this" would print zeros, the fields are not assigned yet.
            if (!(lr > 0) || Float.isInfinite(lr)) { // as setLr and Checkpoint: an infinite rate makes NaN weights
                throw new IllegalArgumentException("SGD: lr must be finite and > 0, got " + lr);
            }
            if (!(momentum >= 0)) {
                throw new IllegalArgumentException("SGD: momentum must be >= 0, got " + momentum);
            }
            if (!(weightDecay >= 0)) {
                throw new IllegalArgumentException("SGD: weightDecay must be >= 0, got " + weightDecay);
            }
            if (nesterov && (momentum <= 0 || dampening != 0)) {
                throw new IllegalArgumentException("SGD: Nesterov needs momentum > 0 and zero dampening, got momentum "
                        + momentum + ", dampening " + dampening);
            }
        }

        /** A config with the fused step, as before {@code fused} existed. */
        public Config(float lr, float momentum, float dampening, float weightDecay, boolean nesterov) {
            this(lr, momentum, dampening, weightDecay, nesterov, true);
        }

        /** Plain SGD with learning rate {@code lr}. */
        public static Config lr(float lr) {
            return new Config(lr, 0f, 0f, 0f, false, true);
        }

        /** This config with momentum, optionally Nesterov. */
        public Config withMomentum(float momentum, boolean nesterov) {
            return new Config(lr, momentum, dampening, weightDecay, nesterov, fused);
        }

        /** This config with momentum dampening. */
        public Config withDampening(float d) {
            return new Config(lr, momentum, d, weightDecay, nesterov, fused);
        }

        /** This config with L2 weight decay. */
        public Config withWeightDecay(float wd) {
            return new Config(lr, momentum, dampening, wd, nesterov, fused);
        }

        /** This config with the fused kernels ({@code true}, the default) or tensor ops. */
        public Config withFused(boolean f) {
            return new Config(lr, momentum, dampening, weightDecay, nesterov, f);
        }
    }

    /** The CUDA kernels of {@link #STEP} and {@link #MOMENTUM_STEP}, one thread per element. */
    private static final String CUDA = """
            extern "C" __global__ void gradus_sgd_step(float* param, long long n, const float* grad, long long ng,
                                                       float lr, float weightDecay) {
                long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (i < n) {
                    float p = param[i];
                    param[i] = p - lr * (grad[i] + weightDecay * p);
                }
            }

            extern "C" __global__ void gradus_sgd_momentum_step(float* param, long long n, float* buf, long long nb,
                                                                const float* grad, long long ng, float lr,
                                                                float weightDecay, float momentum, float dampening,
                                                                float nesterov, float firstStep) {
                long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
                if (i >= n) {
                    return;
                }
                float p = param[i];
                float g = grad[i] + weightDecay * p;
                float b = firstStep != 0.f ? g : momentum * buf[i] + (1.f - dampening) * g;
                buf[i] = b;
                g = nesterov != 0.f ? g + momentum * b : b;
                param[i] = p - lr * g;
            }
            """;

    /** The fused step without momentum: updates {@code param} from {@code grad}; scalars {@code lr, weightDecay}. */
    static final UpdateKernels STEP =
            new UpdateKernels("sgdStep", 1, 1, 2, SGD::fusedStep, new CudaSource(CUDA, "gradus_sgd_step"));

    /**
     * The fused step with momentum: updates {@code param} and its buffer from {@code grad}; scalars {@code lr,
     * weightDecay, momentum, dampening, nesterov, firstStep} (the last two 1 or 0).
     */
    static final UpdateKernels MOMENTUM_STEP = new UpdateKernels(
            "sgdMomentumStep", 2, 1, 6, SGD::fusedMomentumStep, new CudaSource(CUDA, "gradus_sgd_momentum_step"));

    private final Config config;
    private final StateBuffers momentum;
    private final boolean[] started;

    /** An optimizer over {@code params}. */
    public SGD(List<Parameter> params, Config config) {
        super(params, config.lr());
        this.config = config;
        this.momentum = new StateBuffers(params.size());
        this.started = new boolean[params.size()];
    }

    @Override
    protected void update(int i, Parameter p, Tensor grad) {
        Tensor buf = config.momentum() > 0 ? momentum.get(i, p) : null;
        boolean first = !started[i];
        started[i] = true;
        float lr = lr();
        float wd = config.weightDecay();
        if (!config.fused()) {
            tensorStep(p, grad, buf, lr, config, first);
        } else if (buf == null) {
            p.backend()
                    .runUpdate(STEP, new Operand[] {p.operand()}, new Operand[] {grad.operand()}, new float[] {lr, wd});
        } else {
            p.backend()
                    .runUpdate(
                            MOMENTUM_STEP,
                            new Operand[] {p.operand(), buf.operand()},
                            new Operand[] {grad.operand()},
                            new float[] {
                                lr,
                                wd,
                                config.momentum(),
                                config.dampening(),
                                config.nesterov() ? 1f : 0f,
                                first ? 1f : 0f
                            });
        }
    }

    /**
     * The step in tensor ops, PyTorch's formulas one op at a time (not recorded; intermediates freed); {@code buf}
     * is null without momentum, and set to the gradient on the {@code first} step.
     */
    static void tensorStep(Tensor param, Tensor grad, Tensor buf, float lr, Config c, boolean first) {
        try (Scope scope = Scope.open();
                GradMode off = GradMode.noGrad()) {
            Tensor g = grad.add(param.mul(c.weightDecay()));
            if (buf != null) {
                Tensor b = first ? g : buf.mul(c.momentum()).add(g.mul(1f - c.dampening()));
                buf.copyFrom(b);
                g = c.nesterov() ? g.add(b.mul(c.momentum())) : b;
            }
            param.copyFrom(param.sub(g.mul(lr)));
        }
    }

    /** {@link #STEP}'s Java kernel: {@link #tensorStep}'s arithmetic without momentum, per element. */
    private static void fusedStep(FloatBuffer[] u, FloatBuffer[] in, float[] s, int from, int to) {
        float lr = s[0];
        float wd = s[1];
        float[][] tiles = StepTiles.get();
        float[] p = tiles[0];
        float[] g = tiles[1];
        for (int t = from; t < to; t += StepTiles.TILE) {
            int k = Math.min(StepTiles.TILE, to - t);
            u[0].get(t, p, 0, k);
            in[0].get(t, g, 0, k);
            for (int i = 0; i < k; i++) {
                p[i] -= lr * (g[i] + wd * p[i]);
            }
            u[0].put(t, p, 0, k);
        }
    }

    /** {@link #MOMENTUM_STEP}'s Java kernel: {@link #tensorStep}'s arithmetic with momentum, per element. */
    private static void fusedMomentumStep(FloatBuffer[] u, FloatBuffer[] in, float[] s, int from, int to) {
        float lr = s[0];
        float wd = s[1];
        float mu = s[2];
        float damp = 1f - s[3];
        boolean nesterov = s[4] != 0f;
        boolean first = s[5] != 0f;
        float[][] tiles = StepTiles.get();
        float[] p = tiles[0];
        float[] b = tiles[1];
        float[] g = tiles[2];
        for (int t = from; t < to; t += StepTiles.TILE) {
            int k = Math.min(StepTiles.TILE, to - t);
            u[0].get(t, p, 0, k);
            u[1].get(t, b, 0, k);
            in[0].get(t, g, 0, k);
            for (int i = 0; i < k; i++) {
                float gi = g[i] + wd * p[i];
                float bi = first ? gi : mu * b[i] + damp * gi;
                b[i] = bi;
                gi = nesterov ? gi + mu * bi : bi;
                p[i] -= lr * gi;
            }
            u[0].put(t, p, 0, k);
            u[1].put(t, b, 0, k);
        }
    }

    @Override
    protected void putState(Map<String, Tensor> out) {
        for (int i = 0; i < params.size(); i++) {
            if (started[i] && momentum.peek(i) != null) { // without momentum there is no state, as in PyTorch
                out.put("momentum_buffer." + i, momentum.peek(i));
            }
        }
    }

    @Override
    protected void restoreState(Map<String, float[]> state) {
        for (int i = 0; i < params.size(); i++) {
            float[] buf = state.get("momentum_buffer." + i);
            started[i] = buf != null;
            if (buf != null && config.momentum() > 0) {
                momentum.restore(i, params.get(i), buf);
            } else {
                momentum.reset(i);
            }
        }
    }

    @Override
    protected List<String> stateNames() {
        return List.of("momentum_buffer");
    }

    @Override
    protected boolean needsState() {
        return config.momentum() > 0;
    }

    @Override
    protected void releaseState() {
        momentum.close();
    }
}
