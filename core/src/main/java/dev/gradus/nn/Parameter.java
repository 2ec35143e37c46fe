package dev.gradus.nn;

import dev.gradus.Tensor;

/**
 * A trainable tensor owned by its module: never released by a {@link dev.gradus.Scope}, always requires grad.
 *
 * <pre>{@code Parameter w = new Parameter(Tensor.zeros(10, 784));}</pre>
 */
public final class Parameter extends Tensor {
    /**
     * Takes {@code init}'s values as a new trainable leaf, sharing its storage when {@code init} is row-major from
     * element 0 of it, else a copy (a view at an offset would have the optimizers update the wrong elements).
     */
    public Parameter(Tensor init) {
        this(init.dense(), init);
    }

    private Parameter(Tensor dense, Tensor init) {
        super(dense);
        if (dense != init) {
            dense.close(); // the copy's own handle: this parameter now holds its storage
        }
        requiresGrad(true);
    }
}
