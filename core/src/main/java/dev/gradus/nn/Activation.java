package dev.gradus.nn;

import dev.gradus.Tensor;
import java.util.function.UnaryOperator;

/** Base of parameter-free elementwise layers; the output shape is the input shape. */
abstract class Activation extends Module {
    private final String name;
    private final UnaryOperator<Tensor> f;

    Activation(String name, UnaryOperator<Tensor> f) {
        this.name = name;
        this.f = f;
    }

    @Override
    public Tensor forward(Tensor x) {
        return traced(f.apply(x));
    }

    @Override
    public String describe() {
        return name;
    }
}
