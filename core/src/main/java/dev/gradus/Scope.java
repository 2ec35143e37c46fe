package dev.gradus;

import java.util.ArrayList;
import java.util.List;

/**
 * Releases every tensor created inside it when it closes, so a training step frees its intermediates
 * deterministically; parameters, gradients and optimizer state are never owned by a scope.
 *
 * <pre>{@code
 * try (Scope s = Scope.open()) {
 *     Tensor loss = model.forward(x).crossEntropy(y);
 *     loss.backward();
 *     optimizer.step();
 *     lossValue = loss.item();
 * } // every intermediate tensor of the step is released here
 * }</pre>
 *
 * <p>Scopes nest per thread; {@link #keep} hands a tensor to the enclosing scope (or to the caller when there
 * is none).
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final Scope parent;
    private final Thread owner;
    private final List<Tensor> tensors = new ArrayList<>();
    private boolean closed;

    private Scope(Scope parent) {
        this.parent = parent;
        this.owner = Thread.currentThread();
    }

    /** Opens a scope nested in this thread's current one. */
    public static Scope open() {
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** Gives {@code t} to this thread's current scope; false when there is none. */
    static boolean track(Tensor t) {
        Scope s = CURRENT.get();
        if (s != null) {
            s.tensors.add(t);
            return true;
        }
        return false;
    }

    /** Removes {@code t} from this scope and gives it to the enclosing scope, or to the caller if none. */
    public <T extends Tensor> T keep(T t) {
        checkOpen();
        if (tensors.remove(t)) {
            if (parent != null) {
                parent.tensors.add(t);
            } else {
                t.unscoped(); // now the caller's: the GC releases it if it is dropped unclosed
            }
        }
        return t;
    }

    /** Number of tensors this scope will release. */
    public int size() {
        return tensors.size();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("Scope: already closed");
        }
    }

    @Override
    public void close() {
        checkOpen();
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("Scope: closed on thread "
                    + Thread.currentThread().getName() + " but opened on " + owner.getName());
        }
        if (CURRENT.get() != this) {
            throw new IllegalStateException("Scope: closed out of order; close inner scopes first");
        }
        closed = true;
        CURRENT.set(parent);
        for (int i = tensors.size() - 1; i >= 0; i--) {
            tensors.get(i).close();
        }
        tensors.clear();
    }
}
