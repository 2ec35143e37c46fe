package dev.gradus.optim;

import dev.gradus.Tensor;
import dev.gradus.nn.Parameter;
import dev.gradus.spi.AdamStep;
import java.util.List;
import java.util.Map;

/**
 * Adam with PyTorch semantics, bias correction included; {@code decoupled} gives AdamW.
 *
 * <pre>{@code new Adam(model.parameters(), Adam.Config.lr(0.001f))}</pre>
 */
public final class Adam extends Optimizer {
    /**
     * Adam hyper-parameters; defaults as {@code torch.optim.Adam}.
     *
     * @param weightDecay L2 penalty added to the gradient, or decoupled weight decay when {@code decoupled}
     */
    public record Config(float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
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

        /** PyTorch's defaults with learning rate {@code lr}: betas (0.9, 0.999), eps 1e-8, no decay. */
        public static Config lr(float lr) {
            return new Config(lr, 0.9f, 0.999f, 1e-8f, 0f, false);
        }

        /** This config with other betas. */
        public Config withBetas(float b1, float b2) {
            return new Config(lr, b1, b2, eps, weightDecay, decoupled);
        }

        /** This config with {@code eps}. */
        public Config withEps(float e) {
            return new Config(lr, beta1, beta2, e, weightDecay, decoupled);
        }

        /** This config with L2 weight decay (Adam) or, if {@code decoupled}, AdamW's decay. */
        public Config withWeightDecay(float wd, boolean decoupledDecay) {
            return new Config(lr, beta1, beta2, eps, wd, decoupledDecay);
        }
    }

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
        p.backend()
                .adamStep(
                        p.operand(),
                        grad.operand(),
                        mi.operand(),
                        vi.operand(),
                        new AdamStep(
                                lr(),
                                config.beta1(),
                                config.beta2(),
                                config.eps(),
                                config.weightDecay(),
                                config.decoupled(),
                                step));
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
