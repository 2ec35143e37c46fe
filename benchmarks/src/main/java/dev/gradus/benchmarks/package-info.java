/**
 * JMH benchmarks ({@code java -jar benchmarks/target/gradus-benchmarks.jar NAME}):
 *
 * <ul>
 *   <li>{@link dev.gradus.benchmarks.MatmulBenchmark}: the Tensor API against raw OpenBLAS (and oneDNN's matmul).</li>
 *   <li>{@link dev.gradus.benchmarks.MlpBenchmark}: a training step and an epoch of the MNIST MLP.</li>
 *   <li>{@link dev.gradus.benchmarks.ConvBenchmark} and {@link dev.gradus.benchmarks.CnnBenchmark}: the CNNs' layers
 *       and whole training and inference steps, on the oneDNN and the im2col paths.</li>
 *   <li>{@link dev.gradus.benchmarks.InferenceBenchmark}: serving latency of one image and throughput of batches.</li>
 *   <li>{@link dev.gradus.benchmarks.TestSetInferenceBenchmark}: test-set inference as the DJL + PyTorch harness
 *       measures it, for like-for-like comparisons.</li>
 *   <li>{@link dev.gradus.benchmarks.DatasetsBenchmark}: reading MNIST and a Kaggle CSV, and batches per second with and without augmentation.</li>
 * </ul>
 */
package dev.gradus.benchmarks;
