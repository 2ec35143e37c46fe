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
