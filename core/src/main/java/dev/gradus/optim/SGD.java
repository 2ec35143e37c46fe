package dev.gradus.optim;

import dev.gradus.Tensor;
import dev.gradus.nn.Parameter;
import dev.gradus.spi.SgdStep;
import java.util.List;
import java.util.Map;

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, PyTorch semantics.
 *
 * <pre>{@code new SGD(model.parameters(), SGD.Config.lr(0.1f).withMomentum(0.9f, true))}</pre>
 */
public final class SGD extends Optimizer {
    /** SGD hyper-parameters; defaults as {@code torch.optim.SGD}. */
    public record Config(float lr, float momentum, float dampening, float weightDecay, boolean nesterov) {
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

        /** Plain SGD with learning rate {@code lr}. */
        public static Config lr(float lr) {
            return new Config(lr, 0f, 0f, 0f, false);
        }

        /** This config with momentum, optionally Nesterov. */
        public Config withMomentum(float momentum, boolean nesterov) {
            return new Config(lr, momentum, dampening, weightDecay, nesterov);
        }

        /** This config with momentum dampening. */
        public Config withDampening(float d) {
            return new Config(lr, momentum, d, weightDecay, nesterov);
        }

        /** This config with L2 weight decay. */
        public Config withWeightDecay(float wd) {
            return new Config(lr, momentum, dampening, wd, nesterov);
        }
    }

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
        p.backend()
                .sgdStep(
                        p.operand(),
                        grad.operand(),
                        buf == null ? null : buf.operand(),
                        new SgdStep(
                                lr(),
                                config.momentum(),
                                config.dampening(),
                                config.weightDecay(),
                                config.nesterov(),
                                first));
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
