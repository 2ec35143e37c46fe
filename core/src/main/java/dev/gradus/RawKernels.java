package dev.gradus;

import dev.gradus.spi.BinaryOp;
import dev.gradus.spi.Operand;
import dev.gradus.spi.UnaryOp;

/**
 * The backend's elementwise kernels on tensors, not recorded: what {@link Tensor#applyKernel} runs, and so the
 * forwards and gradients of the built-in ops in {@link dev.gradus.ops}.
 *
 * <p>Shapes: a unary result has its input's shape, a binary one the broadcast of both.
 *
 * <pre>{@code RawKernels.binary("add", BinaryOp.ADD, a, b)   // [2, 3] + [3] -> [2, 3]}</pre>
 */
final class RawKernels {
    private RawKernels() {}

    /** {@code op(x, s)} into a new row-major tensor. */
    static Tensor unary(Tensor x, UnaryOp op, float s) {
        Tensor out = Tensor.empty(x.backend, x.shape, DType.FLOAT32);
        x.backend.unary(op, s, x.operand(), out.operand());
        return out;
    }

    /** {@code op(a, b)} with broadcasting into a new row-major tensor; errors name {@code name}. */
    static Tensor binary(String name, BinaryOp op, Tensor a, Tensor b) {
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
}
