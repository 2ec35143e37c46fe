package dev.gradus.backend.cuda;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Idle handles of a CUDA library (cuBLAS, cuDNN), each set up when made: a call takes one and gives it back, so no
 * two threads use a handle at once and no handle's state changes once shared. A pool rather than one handle per
 * thread: a handle holds device workspace, and a server's threads come and go. It grows to the number of calls that
 * ever overlapped; the first handle is made at once, so a library that does not load fails at the start.
 *
 * <pre>{@code handles.run(h -> check(cudnn.cudnnAddTensor(h, ONE, desc, bias, ONE, desc, y), "bias"));}</pre>
 */
final class HandlePool<H> {
    private final ConcurrentLinkedQueue<H> idle = new ConcurrentLinkedQueue<>();
    private final Supplier<H> make;

    HandlePool(Supplier<H> make) {
        this.make = make;
        idle.add(make.get());
    }

    /** Runs {@code call} with a handle of its own: an idle one, or a new one when every handle is in use. */
    void run(Consumer<H> call) {
        H h = idle.poll();
        if (h == null) {
            h = make.get();
        }
        try {
            call.accept(h);
        } finally {
            idle.offer(h);
        }
    }

    /** Handles made so far, idle now: once no call runs, every handle (tests check that overlapping calls got their own). */
    int idle() {
        return idle.size();
    }
}
