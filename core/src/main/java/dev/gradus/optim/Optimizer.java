package dev.gradus.optim;

import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Parameter;
import java.util.Arrays;
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
     * @throws IllegalArgumentException as {@link #checkRestore}, before anything is changed
     */
    public final void restore(Map<String, float[]> state, long steps, float lr) {
        restore(state, null, steps, lr, true);
    }

    /**
     * As {@link #restore(Map, long, float)}, with the saved shapes of the state tensors ({@code null}: their sizes
     * are checked). With {@code stateRequired} false, a checkpoint past step 0 without any state starts this
     * optimizer afresh (step 0, zero moments), as PyTorch does with an empty state dict; otherwise it is refused.
     *
     * @throws IllegalArgumentException as {@link #checkRestore}, before anything is changed
     */
    public final void restore(
            Map<String, float[]> state, Map<String, int[]> shapes, long steps, float lr, boolean stateRequired) {
        checkRestore(state, shapes, steps, lr, stateRequired);
        boolean fresh = state.isEmpty() && needsState();
        restoreState(state);
        this.step = fresh ? 0 : steps;
        setLr(lr);
    }

    /**
     * The checks {@link #restore(Map, Map, long, float, boolean)} makes, changing nothing: every state tensor
     * named as this optimizer names them ({@code exp_avg.0}, ...) for one of its parameters, with that parameter's
     * shape, each parameter's state complete, the step count >= 0, the rate finite and >= 0, and (when
     * {@code stateRequired}) state present if the step count says this optimizer had some.
     *
     * @throws IllegalArgumentException naming the first problem in one line
     */
    public final void checkRestore(
            Map<String, float[]> state, Map<String, int[]> shapes, long steps, float lr, boolean stateRequired) {
        String me = getClass().getSimpleName();
        if (steps < 0) {
            throw new IllegalArgumentException(me + " step count " + steps + " is negative");
        }
        if (!(lr >= 0) || Float.isInfinite(lr)) {
            throw new IllegalArgumentException(me + " learning rate " + lr + " is not finite and >= 0");
        }
        List<String> names = stateNames();
        boolean[][] seen = new boolean[params.size()][names.size()];
        for (Map.Entry<String, float[]> e : state.entrySet()) {
            String key = e.getKey();
            int dot = key.lastIndexOf('.');
            int kind = dot < 0 ? -1 : names.indexOf(key.substring(0, dot));
            int index = dot < 0 ? -1 : index(key.substring(dot + 1));
            if (kind < 0 || index < 0 || index >= params.size()) {
                throw new IllegalArgumentException("unexpected " + me + " state '" + key + "' (" + me + " keeps "
                        + (names.isEmpty() ? "none" : String.join(".I, ", names) + ".I") + " for parameters 0 to "
                        + (params.size() - 1) + ")");
            }
            Parameter p = params.get(index);
            int[] shape = shapes == null ? null : shapes.get(key);
            boolean fits = shape != null
                    ? Shape.of(shape).equals(p.shape())
                    : e.getValue() != null && e.getValue().length == p.numel();
            if (!fits || e.getValue() == null || e.getValue().length != p.numel()) {
                throw new IllegalArgumentException(me + " state '" + key + "' has shape "
                        + (shape != null
                                ? Arrays.toString(shape)
                                : "[" + (e.getValue() == null ? 0 : e.getValue().length) + "]")
                        + " but parameter " + index + " is " + p.shape());
            }
            seen[index][kind] = true;
        }
        for (int i = 0; i < params.size(); i++) {
            for (int k = 1; k < names.size(); k++) {
                if (seen[i][k] != seen[i][0]) {
                    String has = names.get(seen[i][0] ? 0 : k);
                    String lacks = names.get(seen[i][0] ? k : 0);
                    throw new IllegalArgumentException(
                            me + " state '" + has + "." + i + "' comes without '" + lacks + "." + i + "'");
                }
            }
        }
        if (stateRequired && steps > 0 && state.isEmpty() && needsState()) {
            throw new IllegalArgumentException("the " + me + " was saved at step " + steps + " but its state ("
                    + String.join(", ", names) + ") is missing: resuming would restart it from zero");
        }
    }

    /** A canonical non-negative decimal index, or -1. */
    private static int index(String s) {
        if (s.isEmpty() || s.length() > 9 || (s.length() > 1 && s.charAt(0) == '0')) {
            return -1;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return -1;
            }
        }
        return Integer.parseInt(s);
    }

    /** The names of the per-parameter state tensors, without the index ({@code exp_avg}, {@code exp_avg_sq}). */
    protected abstract List<String> stateNames();

    /** Whether training past step 0 leaves state that a resume needs (Adam's moments, SGD's momentum). */
    protected abstract boolean needsState();

    /** Adds this optimizer's state tensors to {@code out}. */
    protected abstract void putState(Map<String, Tensor> out);

    /**
     * Sets the state tensors present in {@code state}, named as {@link #putState} names them and already checked;
     * parameters without state in it lose theirs, as PyTorch's {@code load_state_dict} replaces the state.
     */
    protected abstract void restoreState(Map<String, float[]> state);

    /** Frees the per-parameter state buffers. */
    protected abstract void releaseState();
}
