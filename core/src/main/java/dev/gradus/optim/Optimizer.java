package dev.gradus.optim;

import dev.gradus.Tensor;
import dev.gradus.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Updates parameters from their gradients; state (moments, momentum) lives in the backend's memory until
 * {@link #close()}.
 *
 * <pre>{@code
 * Optimizer opt = new Adam(model.parameters(), Adam.Config.lr(0.01f));
 * opt.zeroGrad(); loss.backward(); opt.step();
 * }</pre>
 */
public abstract class Optimizer implements AutoCloseable {
    protected final List<Parameter> params;
    protected long step;
    private boolean closed;

    private float lr;

    /** An optimizer over {@code params} starting at learning rate {@code lr}. */
    protected Optimizer(List<Parameter> params, float lr) {
        this.lr = lr;
        if (params.isEmpty()) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": no parameters to optimise");
        }
        this.params = List.copyOf(params);
    }

    /** Applies one update to every parameter that has a gradient. */
    public final void step() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + ".step: the optimizer was closed");
        }
        step++;
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            if (p.isClosed()) {
                throw new IllegalStateException(getClass().getSimpleName() + ".step: parameter " + i + " " + p.shape()
                        + " was released (its model was closed)");
            }
            if (p.hasGrad()) {
                update(i, p, p.grad());
            }
        }
    }

    /** Updates parameter {@code index}. */
    protected abstract void update(int index, Parameter p, Tensor grad);

    /** Zeroes every parameter's gradient. */
    public void zeroGrad() {
        params.forEach(Tensor::zeroGrad);
    }

    /** Current learning rate. */
    public float lr() {
        return lr;
    }

    /** Sets the learning rate for the following steps (schedules call this). */
    public void setLr(float lr) {
        if (!(lr >= 0) || Float.isInfinite(lr)) { // 0 is what a long decay schedule may reach
            throw new IllegalArgumentException(
                    getClass().getSimpleName() + ".setLr: lr must be finite and >= 0, got " + lr);
        }
        this.lr = lr;
    }

    /** Number of steps taken. */
    public long steps() {
        return step;
    }

    /**
     * Releases optimizer state.
     *
     * @throws IllegalStateException when called twice, as closing a module twice does
     */
    @Override
    public final void close() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + ": optimizer already closed");
        }
        closed = true;
        releaseState();
    }

    /**
     * The per-parameter state by PyTorch's names and the parameter's index ({@code exp_avg.0},
     * {@code momentum_buffer.2}, ...), for checkpoints; the tensors are the optimizer's own, not copies.
     */
    public final Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        putState(out);
        return out;
    }

    /**
     * Restores what {@link #state()}, {@link #steps()} and {@link #lr()} returned when a checkpoint was written.
     *
     * @throws IllegalArgumentException naming a state tensor that does not fit its parameter
     */
    public final void restore(Map<String, float[]> state, long steps, float lr) {
        restoreState(state);
        this.step = steps;
        setLr(lr);
    }

    /** Adds this optimizer's state tensors to {@code out}. */
    protected abstract void putState(Map<String, Tensor> out);

    /** Sets the state tensors present in {@code state}, named as {@link #putState} names them. */
    protected abstract void restoreState(Map<String, float[]> state);

    /** Frees the per-parameter state buffers. */
    protected abstract void releaseState();
}
