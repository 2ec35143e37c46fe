package dev.gradus.spark.allreduce;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A ring all-reduce over TCP: each worker sends to the next rank and receives from the previous one; a buffer is
 * cut into buckets, each bucket into {@code size} chunks, reduce-scattered then all-gathered, so each worker sends
 * and receives {@code 2 (N-1)/N} of the buffer. Every chunk is summed by one worker, always in the same ring order,
 * and copied to the others: all workers hold bit-identical results.
 *
 * <pre>{@code
 * ServerSocket own = new ServerSocket(0);           // bound before the addresses are exchanged
 * try (AllReduce comm = RingAllReduce.connect(rank, addresses, own, Duration.ofSeconds(30))) {
 *     comm.sum(gradients);                          // float[n], the same n on every worker
 * }
 * }</pre>
 */
public final class RingAllReduce implements AllReduce {
    /** Floats per bucket: 1 Mi floats, 4 MiB (a bucket's chunks are what each send and receive carries). */
    public static final int DEFAULT_BUCKET = 1 << 20;

    private static final int MAGIC = 0x47524144; // "GRAD"

    private final int rank;
    private final int size;
    private final List<InetSocketAddress> addresses;
    private final Duration timeout;
    private final int bucket;
    private final Socket toNext;
    private final Socket fromPrev;
    private final DataOutputStream out;
    private final DataInputStream in;
    private final ExecutorService sender;
    private int sequence;
    private volatile boolean broken;
    private boolean closed;

    private RingAllReduce(
            int rank, List<InetSocketAddress> addresses, Duration timeout, int bucket, Socket toNext, Socket fromPrev)
            throws IOException {
        this.rank = rank;
        this.size = addresses.size();
        this.addresses = List.copyOf(addresses);
        this.timeout = timeout;
        this.bucket = bucket;
        this.toNext = toNext;
        this.fromPrev = fromPrev;
        this.out = toNext == null
                ? null
                : new DataOutputStream(new BufferedOutputStream(toNext.getOutputStream(), 1 << 16));
        this.in = fromPrev == null
                ? null
                : new DataInputStream(new BufferedInputStream(fromPrev.getInputStream(), 1 << 16));
        this.sender = size == 1
                ? null
                : Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "gradus-allreduce-send-" + rank);
                    t.setDaemon(true);
                    return t;
                });
    }

    /**
     * Joins the ring as {@code rank} of {@code addresses.size()} workers: connects to the next rank's address and
     * accepts the previous rank on {@code own} (already bound to {@code addresses.get(rank)}'s port), each within
     * {@code timeout}; {@code own} is closed once the ring is up. One worker needs no sockets.
     *
     * @throws AllReduceException naming the rank and address that could not be reached or did not connect in time
     */
    public static RingAllReduce connect(
            int rank, List<InetSocketAddress> addresses, ServerSocket own, Duration timeout) {
        return connect(rank, addresses, own, timeout, DEFAULT_BUCKET);
    }

    /** As {@link #connect(int, List, ServerSocket, Duration)} with {@code bucket} floats per bucket. */
    public static RingAllReduce connect(
            int rank, List<InetSocketAddress> addresses, ServerSocket own, Duration timeout, int bucket) {
        int n = addresses.size();
        if (rank < 0 || rank >= n) {
            throw new IllegalArgumentException("RingAllReduce: rank " + rank + " outside a group of " + n);
        }
        if (bucket < n) {
            throw new IllegalArgumentException("RingAllReduce: bucket of " + bucket + " floats for " + n + " workers");
        }
        if (n == 1) {
            closeQuietly(own);
            try {
                return new RingAllReduce(rank, addresses, timeout, bucket, null, null);
            } catch (IOException e) {
                throw new AllReduceException("rank 0: " + e.getMessage(), e); // cannot happen without sockets
            }
        }
        int next = (rank + 1) % n;
        int prev = (rank + n - 1) % n;
        long deadline = System.nanoTime() + timeout.toNanos();
        Socket toNext = null;
        Socket fromPrev = null;
        try {
            toNext = dial(rank, next, addresses.get(next), deadline, timeout);
            DataOutputStream hello = new DataOutputStream(toNext.getOutputStream());
            hello.writeInt(MAGIC);
            hello.writeInt(rank);
            hello.writeInt(n);
            hello.flush();
            fromPrev = accept(rank, prev, own, deadline, timeout);
            DataInputStream h = new DataInputStream(fromPrev.getInputStream());
            int magic = h.readInt();
            int who = h.readInt();
            int world = h.readInt();
            if (magic != MAGIC || who != prev || world != n) {
                throw new AllReduceException("rank " + rank + ": expected rank " + prev + " of " + n + " to connect to "
                        + addresses.get(rank) + ", got "
                        + (magic != MAGIC ? "a stranger" : "rank " + who + " of " + world));
            }
            fromPrev.setSoTimeout(millis(timeout));
            return new RingAllReduce(rank, addresses, timeout, bucket, toNext, fromPrev);
        } catch (SocketTimeoutException e) {
            closeQuietly(toNext);
            closeQuietly(fromPrev);
            throw new AllReduceException(
                    "rank " + rank + ": rank " + prev + " did not connect to " + addresses.get(rank) + " within "
                            + timeout.toMillis() + " ms",
                    e);
        } catch (IOException e) {
            closeQuietly(toNext);
            closeQuietly(fromPrev);
            throw new AllReduceException("rank " + rank + ": setting up the ring failed: " + e, e);
        } catch (RuntimeException e) {
            closeQuietly(toNext);
            closeQuietly(fromPrev);
            throw e;
        } finally {
            closeQuietly(own);
        }
    }

    private static Socket dial(int rank, int next, InetSocketAddress to, long deadline, Duration timeout)
            throws IOException {
        IOException last = null;
        while (System.nanoTime() < deadline) {
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.connect(to, Math.max(1, (int) ((deadline - System.nanoTime()) / 1_000_000)));
                return s;
            } catch (IOException e) { // not listening yet: try again until the deadline
                last = e;
                s.close();
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new AllReduceException(
                            "rank " + rank + ": interrupted while connecting to rank " + next + " at " + to);
                }
            }
        }
        throw new AllReduceException(
                "rank " + rank + ": could not connect to rank " + next + " at " + to + " within " + timeout.toMillis()
                        + " ms" + (last == null ? "" : ": " + last.getMessage()),
                last);
    }

    private static Socket accept(int rank, int prev, ServerSocket own, long deadline, Duration timeout)
            throws IOException {
        int left = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        own.setSoTimeout(left);
        Socket s = own.accept();
        s.setTcpNoDelay(true);
        s.setSoTimeout(millis(timeout));
        return s;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    /** The bucket size in floats. */
    public int bucket() {
        return bucket;
    }

    @Override
    public void sum(float[] data) {
        if (closed) {
            throw new IllegalStateException("rank " + rank + ": the all-reduce group was closed");
        }
        if (broken) {
            throw new AllReduceException("rank " + rank + ": an earlier all-reduce failed; the group is unusable");
        }
        if (size == 1) {
            return;
        }
        try {
            for (int off = 0; off < data.length; off += bucket) {
                reduceBucket(data, off, Math.min(bucket, data.length - off));
            }
        } catch (RuntimeException e) {
            broken = true;
            shutSockets(); // neighbours blocked on us fail now, not after their timeout
            throw e;
        }
    }

    private void reduceBucket(float[] data, int off, int len) {
        int[] start = new int[size + 1];
        for (int i = 0; i <= size; i++) {
            start[i] = off + (int) ((long) len * i / size);
        }
        float[] recv = new float[len / size + 1]; // chunks differ by at most one float
        // Reduce-scatter: after step s, this rank's chunk (rank - s - 1) holds the sum of s + 2 workers.
        for (int s = 0; s < size - 1; s++) {
            int sendChunk = Math.floorMod(rank - s, size);
            int recvChunk = Math.floorMod(rank - s - 1, size);
            int rl = start[recvChunk + 1] - start[recvChunk];
            exchange(data, start[sendChunk], start[sendChunk + 1] - start[sendChunk], recv, rl);
            for (int i = 0; i < rl; i++) {
                data[start[recvChunk] + i] = recv[i] + data[start[recvChunk] + i];
            }
        }
        // All-gather: the finished chunks travel once around the ring and are copied, never summed again.
        for (int s = 0; s < size - 1; s++) {
            int sendChunk = Math.floorMod(rank + 1 - s, size);
            int recvChunk = Math.floorMod(rank - s, size);
            int rl = start[recvChunk + 1] - start[recvChunk];
            exchange(data, start[sendChunk], start[sendChunk + 1] - start[sendChunk], recv, rl);
            System.arraycopy(recv, 0, data, start[recvChunk], rl);
        }
    }

    /** Sends {@code data[from, from + n)} to the next rank while receiving {@code m} floats from the previous. */
    private void exchange(float[] data, int from, int n, float[] recv, int m) {
        int seq = sequence++;
        byte[] payload = new byte[n * 4];
        ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(data, from, n);
        Future<?> sent = sender.submit(() -> {
            out.writeInt(seq);
            out.writeInt(n);
            out.write(payload);
            out.flush();
            return null;
        });
        int prev = (rank + size - 1) % size;
        int next = (rank + 1) % size;
        byte[] got = new byte[m * 4];
        try {
            int s = in.readInt();
            int k = in.readInt();
            if (s != seq || k != m) {
                throw new AllReduceException("rank " + rank + ": rank " + prev + " at " + addresses.get(prev)
                        + " sent message " + s + " of " + k + " floats, expected message " + seq + " of " + m
                        + " floats (the workers disagree on the buffer size or the call order)");
            }
            in.readFully(got);
        } catch (SocketTimeoutException e) {
            sent.cancel(true);
            throw new AllReduceException(
                    "rank " + rank + ": rank " + prev + " at " + addresses.get(prev) + " sent nothing for "
                            + timeout.toMillis() + " ms while " + m * 4 + " bytes were expected (worker stopped"
                            + " answering?)",
                    e);
        } catch (EOFException e) {
            sent.cancel(true);
            throw new AllReduceException(
                    "rank " + rank + ": rank " + prev + " at " + addresses.get(prev) + " closed the connection while "
                            + m * 4 + " bytes were expected (worker failed?)",
                    e);
        } catch (IOException e) {
            sent.cancel(true);
            throw new AllReduceException(
                    "rank " + rank + ": receiving " + m * 4 + " bytes from rank " + prev + " at " + addresses.get(prev)
                            + " failed: " + e.getMessage(),
                    e);
        }
        try {
            sent.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            sent.cancel(true);
            throw new AllReduceException("rank " + rank + ": rank " + next + " at " + addresses.get(next)
                    + " took nothing for " + timeout.toMillis() + " ms while " + n * 4 + " bytes were sent"
                    + " (worker stopped answering?)");
        } catch (ExecutionException e) {
            throw new AllReduceException(
                    "rank " + rank + ": sending " + n * 4 + " bytes to rank " + next + " at " + addresses.get(next)
                            + " failed: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AllReduceException("rank " + rank + ": interrupted while sending to rank " + next);
        }
        ByteBuffer.wrap(got).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(recv, 0, m);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        shutSockets();
        if (sender != null) {
            sender.shutdownNow();
        }
    }

    private void shutSockets() {
        closeQuietly(toNext);
        closeQuietly(fromPrev);
    }

    private static int millis(Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toMillis()));
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing after a failure: the first error is the one reported
            }
        }
    }
}
