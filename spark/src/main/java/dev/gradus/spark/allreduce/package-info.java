/**
 * Summing gradients across workers over plain TCP sockets, with no Spark in sight (Spark only tells the workers
 * each other's addresses).
 *
 * <ul>
 *   <li>{@link dev.gradus.spark.allreduce.AllReduce}: the contract, an in-place sum over a fixed group.</li>
 *   <li>{@link dev.gradus.spark.allreduce.RingAllReduce}: reduce-scatter then all-gather around a ring, in buckets,
 *       each chunk summed by one worker in a fixed order and copied to the others, so all hold bit-identical
 *       sums; every read has a timeout.</li>
 *   <li>{@link dev.gradus.spark.allreduce.AllReduceException}: a failed, closed or silent peer, named.</li>
 * </ul>
 */
package dev.gradus.spark.allreduce;
