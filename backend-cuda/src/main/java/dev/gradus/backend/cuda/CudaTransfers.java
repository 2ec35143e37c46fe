package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaOperands.checkRange;
import static dev.gradus.backend.cuda.CudaOperands.cuda;

import dev.gradus.DType;
import dev.gradus.spi.Storage;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Copies between host arrays and device storages through pinned host buffers: writes through a ring that lets the
 * host run {@code UPLOAD_SLOTS} uploads ahead, reads through staging buffers, each waiting on its own copy's event.
 */
final class CudaTransfers {
    private final CUstream_st stream;
    /** The backend's count of host waits, shared with its {@code synchronize}. */
    private final AtomicLong hostWaits;

    CudaTransfers(CUstream_st stream, AtomicLong hostWaits) {
        this.stream = stream;
        this.hostWaits = hostWaits;
    }

    /**
     * A pinned (page-locked) host buffer reads land in, with an event recorded after the copy into it: copies to
     * pinned memory run at full bus speed, and reused buffers spare a host allocation per read.
     */
    private static final class Staging {
        final CUevent_st copied = new CUevent_st();
        BytePointer host;

        Staging() {
            Cuda.check(cudart.cudaEventCreateWithFlags(copied, cudart.cudaEventDisableTiming), "cudaEventCreate");
        }
    }

    /**
     * Idle staging buffers: a read takes one (or makes one) and puts it back, so threads read at once, each waiting
     * on its own copy's event rather than for the whole stream, which other threads keep filling.
     */
    private final ConcurrentLinkedQueue<Staging> stagings = new ConcurrentLinkedQueue<>();

    private static BytePointer pinned(long bytes) {
        long size = Math.max(bytes, 1 << 20);
        try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
            Cuda.check(cudart.cudaMallocHost(out, size), "cudaMallocHost(" + size + ")");
            return new BytePointer(out.get(0)).capacity(size).limit(size);
        }
    }

    /**
     * Writes go through a ring of pinned buffers, each with an event recorded after its copy: a write returns as
     * soon as its copy is queued, and waits only when it comes round to a buffer whose copy the device has not yet
     * done (the host is then {@code UPLOAD_SLOTS} batches ahead). So uploading the next batch overlaps the step
     * still running. The ring is shared by all threads under its lock (a write holds it only to fill a buffer and
     * queue the copy, or while the device finishes that slot's previous copy).
     */
    private static final int UPLOAD_SLOTS = 4;

    private final BytePointer[] uploadBuffers = new BytePointer[UPLOAD_SLOTS];
    private final CUevent_st[] uploadDone = new CUevent_st[UPLOAD_SLOTS];
    private final boolean[] uploadPending = new boolean[UPLOAD_SLOTS];
    private int nextUpload;

    private void toDevice(CudaStorage d, int offset, long bytes, Consumer<BytePointer> fill) {
        synchronized (uploadDone) {
            int slot = nextUpload;
            nextUpload = (nextUpload + 1) % UPLOAD_SLOTS;
            if (uploadDone[slot] == null) {
                uploadDone[slot] = new CUevent_st();
                Cuda.check(
                        cudart.cudaEventCreateWithFlags(uploadDone[slot], cudart.cudaEventDisableTiming),
                        "cudaEventCreateWithFlags");
            }
            if (uploadPending[slot]) {
                int state = cudart.cudaEventQuery(uploadDone[slot]);
                if (state == cudart.cudaErrorNotReady) {
                    hostWaits.incrementAndGet();
                    state = cudart.cudaEventSynchronize(uploadDone[slot]);
                }
                Cuda.check(state, "waiting for the upload buffer's last copy");
                uploadPending[slot] = false;
            }
            BytePointer host = uploadBuffers[slot];
            if (host == null || host.capacity() < bytes) {
                if (host != null) {
                    Cuda.check(cudart.cudaFreeHost(host), "cudaFreeHost");
                }
                host = pinned(bytes);
                uploadBuffers[slot] = host;
            }
            fill.accept(host);
            Cuda.check(
                    cudart.cudaMemcpyAsync(
                            Cuda.pointer(d.at(offset)), host, bytes, cudart.cudaMemcpyHostToDevice, stream),
                    "cudaMemcpy host -> device");
            Cuda.check(cudart.cudaEventRecord(uploadDone[slot], stream), "cudaEventRecord (upload buffer)");
            uploadPending[slot] = true;
        }
    }

    private void toHost(CudaStorage s, int offset, long bytes, Consumer<BytePointer> drain) {
        Staging st = stagings.poll();
        if (st == null) {
            st = new Staging();
        }
        try {
            if (st.host == null || st.host.capacity() < bytes) {
                if (st.host != null) {
                    Cuda.check(cudart.cudaFreeHost(st.host), "cudaFreeHost");
                    st.host = null;
                }
                st.host = pinned(bytes);
            }
            Cuda.check(
                    cudart.cudaMemcpyAsync(
                            st.host, Cuda.pointer(s.at(offset)), bytes, cudart.cudaMemcpyDeviceToHost, stream),
                    "cudaMemcpy device -> host");
            Cuda.check(cudart.cudaEventRecord(st.copied, stream), "cudaEventRecord (read)");
            // On the one stream the event completes once everything queued before the copy, by any thread, has run.
            hostWaits.incrementAndGet();
            Cuda.check(cudart.cudaEventSynchronize(st.copied), "waiting for the copy device -> host");
            drain.accept(st.host);
        } finally {
            stagings.offer(st);
        }
    }

    void write(Storage dst, int offset, float[] src, int srcOffset, int length) {
        CudaStorage d = cuda(dst);
        checkRange(d, offset, length, "write");
        toDevice(d, offset, 4L * length, host -> new FloatPointer(host).put(src, srcOffset, length));
    }

    void read(Storage src, int offset, float[] dst, int dstOffset, int length) {
        CudaStorage s = cuda(src);
        checkRange(s, offset, length, "read");
        toHost(s, offset, 4L * length, host -> new FloatPointer(host).get(dst, dstOffset, length));
    }

    void writeInts(Storage dst, int offset, int[] src, int srcOffset, int length) {
        CudaStorage d = cuda(dst);
        checkRange(d, offset, length, "writeInts");
        toDevice(d, offset, 4L * length, host -> new IntPointer(host).put(src, srcOffset, length));
        if (d.dtype() == DType.INT32) {
            int[] known = d.hostInts;
            if (known != null) {
                // A new array, not an update in place: another thread's oneHot may be checking the old one.
                int[] next = known.clone();
                System.arraycopy(src, srcOffset, next, offset, length);
                d.hostInts = next;
            } else if (offset == 0 && length == d.numel()) {
                d.hostInts = Arrays.copyOfRange(src, srcOffset, srcOffset + length);
            }
        }
    }

    void readInts(Storage src, int offset, int[] dst, int dstOffset, int length) {
        CudaStorage s = cuda(src);
        checkRange(s, offset, length, "readInts");
        toHost(s, offset, 4L * length, host -> new IntPointer(host).get(dst, dstOffset, length));
    }
}
