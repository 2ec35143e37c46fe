/**
 * Gradus on Apache Spark: synchronous data-parallel training in a barrier stage and distributed inference over
 * Spark data sets.
 *
 * <ul>
 *   <li>Training, from the outside in: {@link dev.gradus.spark.SparkTraining} (the job, retried from rank 0's
 *       checkpoint when a worker fails), {@link dev.gradus.spark.TrainWorker} (one barrier task: shard, address
 *       exchange, ring), {@link dev.gradus.spark.WorkerLoop} (epochs, checkpoints),
 *       {@link dev.gradus.spark.DataParallel} (one step: local gradients, all-reduce, the same optimizer step
 *       everywhere), {@link dev.gradus.spark.WorkerConfig} and {@link dev.gradus.spark.WorkerResult}.</li>
 *   <li>Inference: {@link dev.gradus.spark.ModelScorer} (a model broadcast once, loaded once per executor, rows
 *       batched per partition, a {@code prediction} column).</li>
 *   <li>Rows: {@link dev.gradus.spark.Rows} (images as {@code label/id, features} rows and back).</li>
 *   <li>Commands of the runnable jar: {@link dev.gradus.spark.Main}, {@link dev.gradus.spark.SparkTrainCommand},
 *       {@link dev.gradus.spark.SparkPredictCommand}; {@link dev.gradus.spark.AllReduceBenchmark} times the
 *       all-reduce and the step.</li>
 *   <li>The all-reduce itself, free of Spark: {@link dev.gradus.spark.allreduce}.</li>
 * </ul>
 */
package dev.gradus.spark;
