package dev.gradus.spark.allreduce;

/**
 * An all-reduce that could not finish: a peer failed, closed its connection, sent something unexpected or stopped
 * answering within the timeout. The message names this worker's rank, the peer and its address, and the buffer.
 *
 * <pre>{@code rank 1: rank 0 at /127.0.0.1:40123 sent nothing for 5000 ms while 4096 bytes were expected}</pre>
 */
public final class AllReduceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An all-reduce failure with its one-line reason. */
    public AllReduceException(String message) {
        super(message);
    }

    /** An all-reduce failure with its one-line reason and the IO error under it. */
    public AllReduceException(String message, Throwable cause) {
        super(message, cause);
    }
}
