package dev.gradus.nn;

import dev.gradus.Tensor;

/**
 * A trainable tensor owned by its module: never released by a {@link dev.gradus.Scope}, always requires grad.
 *
 * <pre>{@code Parameter w = new Parameter(Tensor.zeros(10, 784));}</pre>
 */
public final class Parameter extends Tensor {
    /** Takes {@code init}'s values (sharing its storage) as a new trainable leaf. */
    public Parameter(Tensor init) {
        super(init.contiguous());
        requiresGrad(true);
    }
}
