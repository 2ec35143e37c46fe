package dev.gradus;

import dev.gradus.ops.BuiltInOps;
import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.Operand;
import dev.gradus.spi.UnaryOp;

/**
 * The bodies of {@link Tensor}'s arithmetic, math functions and activations: each calls one elementwise kernel
 * (a {@link UnaryOp} or {@link BinaryOp}) and states its gradient beside its forward.
 */
final class Elementwise {
    private Elementwise() {}

    private static final float TWO_OVER_SQRT_PI = (float) (2 / Math.sqrt(Math.PI));

    /** A gradient rule that may read the op's output ({@code exp}, {@code sqrt}, {@code div}). */
    private interface OutputRule {
        Tensor apply(Tensor dOut, Tensor out);
    }

    /** {@code op(a, b)} with broadcasting into a new tensor, not recorded. */
    static Tensor binaryRaw(String name, BinaryOp op, Tensor a, Tensor b) {
        b.check(name);
        Backends.requireSame(name, a.backend, b.backend);
        Shape outShape = Shape.broadcast(name, a.shape, b.shape);
        Tensor out = Tensor.empty(a.backend, outShape, DType.FLOAT32);
        a.backend.binary(
                op,
                new Operand(a.ref.storage, a.layout.broadcastTo(outShape.dims())),
                new Operand(b.ref.storage, b.layout.broadcastTo(outShape.dims())),
                out.operand());
        return out;
    }

    /** {@code op(a, b)} with broadcasting, one gradient rule per input; the rules may read the output. */
    private static Tensor binary(String name, BinaryOp op, Tensor a, Tensor b, OutputRule dA, OutputRule dB) {
        a.checkFloat(name);
        Tensor out = a.binaryRaw(name, op, b);
        return Autograd.record(out, name, a, d -> dA.apply(d, out), b, d -> dB.apply(d, out));
    }

    static Tensor add(Tensor a, Tensor b) {
        return binary("add", BinaryOp.ADD, a, b, (d, out) -> d.sumTo(a.shape), (d, out) -> d.sumTo(b.shape));
    }

    static Tensor sub(Tensor a, Tensor b) {
        return binary(
                "sub",
                BinaryOp.SUB,
                a,
                b,
                (d, out) -> d.sumTo(a.shape),
                (d, out) -> d.neg().sumTo(b.shape));
    }

    static Tensor mul(Tensor a, Tensor b) {
        return binary(
                "mul",
                BinaryOp.MUL,
                a,
                b,
                (d, out) -> d.mul(b).sumTo(a.shape),
                (d, out) -> d.mul(a).sumTo(b.shape));
    }

    static Tensor div(Tensor a, Tensor b) {
        // d(a/b)/db = -(a/b)/b reads the output back instead of squaring b
        return binary(
                "div",
                BinaryOp.DIV,
                a,
                b,
                (d, out) -> d.div(b).sumTo(a.shape),
                (d, out) -> d.mul(out).div(b).neg().sumTo(b.shape));
    }

    static Tensor maximum(Tensor a, Tensor b) {
        // where equal, the gradient goes to a
        return binary(
                "maximum",
                BinaryOp.MAXIMUM,
                a,
                b,
                (d, out) -> d.mul(a.binaryRaw("maximum", BinaryOp.EQ, out)).sumTo(a.shape),
                (d, out) ->
                        d.mul(a.binaryRaw("maximum", BinaryOp.EQ, out).rsub(1f)).sumTo(b.shape));
    }

    /** {@code op(x, s)}, recorded with {@code rule}. */
    private static Tensor scalar(String name, UnaryOp op, Tensor x, float s, Autograd.Rule rule) {
        x.checkFloat(name);
        return Autograd.record(x.unary(op, s), name, x, rule);
    }

    static Tensor add(Tensor x, float s) {
        return scalar("addScalar", UnaryOp.ADD_SCALAR, x, s, d -> d);
    }

    static Tensor mul(Tensor x, float s) {
        return scalar("mulScalar", UnaryOp.MUL_SCALAR, x, s, d -> d.mul(s));
    }

    static Tensor pow(Tensor x, float p) {
        return scalar("pow", UnaryOp.POW_SCALAR, x, p, d -> d.mul(x.pow(p - 1f)).mul(p));
    }

    static Tensor neg(Tensor x) {
        return scalar("neg", UnaryOp.NEG, x, 0f, Tensor::neg);
    }

    static Tensor log(Tensor x) {
        return scalar("log", UnaryOp.LOG, x, 0f, d -> d.div(x));
    }

    private static Tensor fromOutput(String name, UnaryOp op, Tensor x, OutputRule rule) {
        x.checkFloat(name);
        Tensor out = x.unary(op, 0f);
        return Autograd.record(out, name, x, d -> rule.apply(d, out));
    }

    static Tensor exp(Tensor x) {
        return fromOutput("exp", UnaryOp.EXP, x, Tensor::mul);
    }

    static Tensor sqrt(Tensor x) {
        return fromOutput("sqrt", UnaryOp.SQRT, x, (d, out) -> d.div(out).mul(0.5f));
    }

    static Tensor abs(Tensor x) {
        // the gradient at 0 is 0: sign(x) = (x > 0) - (-x > 0)
        return fromOutput(
                "abs",
                UnaryOp.ABS,
                x,
                (d, out) -> d.mul(x.unary(UnaryOp.GT_SCALAR, 0f).sub(x.neg().unary(UnaryOp.GT_SCALAR, 0f))));
    }

    static Tensor erf(Tensor x) {
        return fromOutput(
                "erf", UnaryOp.ERF, x, (d, out) -> d.mul(x.mul(x).mul(-1f).exp().mul(TWO_OVER_SQRT_PI)));
    }

    static Tensor sin(Tensor x) {
        return BuiltInOps.SIN.apply(x);
    }

    static Tensor cos(Tensor x) {
        return BuiltInOps.COS.apply(x);
    }

    /** An activation whose backward is one fused kernel of the incoming gradient and the saved output. */
    static Tensor activation(String name, UnaryOp forward, BinaryOp backward, Tensor x) {
        return fromOutput(name, forward, x, (d, out) -> d.binaryRaw(name, backward, out));
    }

    static Tensor gelu(Tensor x) {
        x.checkFloat("gelu");
        return x.mul(0.5f).mul(x.mul((float) (1 / Math.sqrt(2))).erf().add(1f));
    }
}
