package dev.gradus.onnx;

import static dev.gradus.onnx.OnnxGraph.floatAttr;
import static dev.gradus.onnx.OnnxGraph.intAttr;

import dev.gradus.Shape;
import dev.gradus.nn.GELU;
import dev.gradus.nn.Identity;
import dev.gradus.nn.LeakyReLU;
import dev.gradus.nn.Module;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.SiLU;
import dev.gradus.nn.Sigmoid;
import dev.gradus.nn.Softmax;
import dev.gradus.nn.Softplus;
import dev.gradus.nn.Tanh;
import dev.gradus.onnx.OnnxGraph.Value;
import java.util.List;

/**
 * The elementwise layers (and Softmax) as ONNX nodes; those opset 17 lacks (GELU, SiLU, Softplus with its beta and
 * threshold) composed from its ops the way Gradus computes them.
 */
final class ActivationLayers {
    private ActivationLayers() {}

    /** The activation {@code m} on {@code x}, or null if {@code m} is not one. */
    static Value write(OnnxGraph g, Module m, Value x, String name) {
        Class<?> c = m.getClass();
        if (c == ReLU.class) {
            return unary(g, "Relu", name, x);
        } else if (c == Sigmoid.class) {
            return unary(g, "Sigmoid", name, x);
        } else if (c == Tanh.class) {
            return unary(g, "Tanh", name, x);
        } else if (c == Identity.class) {
            return unary(g, "Identity", name, x);
        } else if (c == Softmax.class) {
            return g.node("Softmax", name, x.shape(), List.of(x.name()), intAttr("axis", ((Softmax) m).axis()));
        } else if (c == LeakyReLU.class) {
            return g.node(
                    "LeakyRelu",
                    name,
                    x.shape(),
                    List.of(x.name()),
                    floatAttr("alpha", ((LeakyReLU) m).negativeSlope()));
        } else if (c == SiLU.class) {
            return binary(g, "Mul", name, x, unary(g, "Sigmoid", name + "_sigmoid", x));
        } else if (c == GELU.class) {
            return "tanh".equals(((GELU) m).approximate()) ? geluTanh(g, x, name) : gelu(g, x, name);
        } else if (c == Softplus.class) {
            Softplus s = (Softplus) m;
            return softplus(g, x, s.beta(), s.threshold(), name);
        }
        return null;
    }

    /** The exact GELU: {@code x * 0.5 * (1 + erf(x / sqrt(2)))}. */
    static Value gelu(OnnxGraph g, Value x, String name) {
        Value scaled = withScalar(g, "Div", name + "_div", x, (float) Math.sqrt(2));
        Value erf = unary(g, "Erf", name + "_erf", scaled);
        Value onePlus = withScalar(g, "Add", name + "_add", erf, 1f);
        return withScalar(g, "Mul", name, binary(g, "Mul", name + "_mul", x, onePlus), 0.5f);
    }

    /** GELU's tanh form, as Gradus's: {@code x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) * 0.5}. */
    private static Value geluTanh(OnnxGraph g, Value x, String name) {
        Value cube = withScalar(g, "Pow", name + "_pow", x, 3f);
        Value inner = binary(g, "Add", name + "_inner", x, withScalar(g, "Mul", name + "_cubic", cube, 0.044715f));
        Value t = unary(g, "Tanh", name + "_tanh", withScalar(g, "Mul", name + "_scale", inner, (float)
                Math.sqrt(2 / Math.PI)));
        Value onePlus = withScalar(g, "Add", name + "_add", t, 1f);
        return withScalar(g, "Mul", name, binary(g, "Mul", name + "_mul", x, onePlus), 0.5f);
    }

    /**
     * As Gradus's: {@code z = beta * x}; {@code (relu(z) + log(1 + exp(-|z|))) / beta}, and {@code x} where
     * {@code z > threshold}.
     */
    private static Value softplus(OnnxGraph g, Value x, float beta, float threshold, String name) {
        Value z = withScalar(g, "Mul", name + "_z", x, beta);
        Value tail = unary(g, "Exp", name + "_exp", unary(g, "Neg", name + "_neg", unary(g, "Abs", name + "_abs", z)));
        Value log = unary(g, "Log", name + "_log", withScalar(g, "Add", name + "_add1", tail, 1f));
        Value soft = withScalar(
                g,
                "Div",
                name + "_soft",
                binary(g, "Add", name + "_sum", unary(g, "Relu", name + "_relu", z), log),
                beta);
        Value above = g.node(
                "Greater", name + "_above", x.shape(), List.of(z.name(), g.scalar(name + "_threshold", threshold)));
        return g.node("Where", name, x.shape(), List.of(above.name(), x.name(), soft.name()));
    }

    static Value unary(OnnxGraph g, String op, String name, Value x) {
        return g.node(op, name, x.shape(), List.of(x.name()));
    }

    static Value binary(OnnxGraph g, String op, String name, Value a, Value b) {
        Shape s = Shape.broadcast(op, a.shape(), b.shape());
        return g.node(op, name, s, List.of(a.name(), b.name()));
    }

    /** {@code x op c} for a float constant {@code c}. */
    static Value withScalar(OnnxGraph g, String op, String name, Value x, float c) {
        return g.node(op, name, x.shape(), List.of(x.name(), g.scalar(name + "_c", c)));
    }
}
