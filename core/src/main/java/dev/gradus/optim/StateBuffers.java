package dev.gradus.optim;

import dev.gradus.Tensor;
import dev.gradus.nn.Parameter;

/** Per-parameter zero-initialised state tensors that no scope owns. */
final class StateBuffers implements AutoCloseable {
    private final Tensor[] buffers;

    StateBuffers(int count) {
        buffers = new Tensor[count];
    }

    Tensor get(int index, Parameter like) {
        Tensor b = buffers[index];
        if (b == null) {
            Tensor zeros = Tensor.full(like.backend(), 0f, like.shape().dims());
            b = zeros.persist();
            zeros.close();
            buffers[index] = b;
        }
        return b;
    }

    /** The buffer of parameter {@code index}, or null while the optimizer has not made it. */
    Tensor peek(int index) {
        return buffers[index];
    }

    /** Sets parameter {@code index}'s buffer to {@code values} (made first if need be), for a restored checkpoint. */
    void restore(int index, Parameter like, float[] values) {
        Tensor b = get(index, like);
        if (values.length != b.numel()) {
            throw new IllegalArgumentException("optimizer state for parameter " + index + " " + like.shape() + " has "
                    + values.length + " values");
        }
        b.backend().write(b.operand().storage(), 0, values, 0, values.length);
    }

    /** Drops parameter {@code index}'s buffer: the next step starts it from zero. */
    void reset(int index) {
        if (buffers[index] != null) {
            buffers[index].close();
            buffers[index] = null;
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < buffers.length; i++) {
            if (buffers[i] != null) {
                buffers[i].close();
                buffers[i] = null;
            }
        }
    }
}
