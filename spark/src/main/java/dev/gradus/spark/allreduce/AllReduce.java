package dev.gradus.spark.allreduce;

/**
 * Sums a float array across a fixed group of workers, in place: after {@link #sum} every worker holds the same,
 * bit-identical sum of everyone's arrays.
 *
 * <pre>{@code
 * float[] g = FlatParameters.gradients(params);   // same length on every worker
 * comm.sum(g);                                    // now the sum over all workers
 * }</pre>
 */
public interface AllReduce extends AutoCloseable {
    /** This worker's rank, 0 to {@link #size()} - 1. */
    int rank();

    /** The number of workers. */
    int size();

    /**
     * Replaces {@code data} by the element-wise sum of every worker's {@code data}; all workers call it in the same
     * order with arrays of the same length.
     *
     * @throws AllReduceException naming the peer, its address, the buffer size and the timeout when a peer fails,
     *     closes its connection or stops answering; the group is unusable afterwards
     */
    void sum(float[] data);

    /** Closes the connections; peers blocked on this worker then fail at once instead of waiting for the timeout. */
    @Override
    void close();
}
