/**
 * JMH benchmarks: {@link dev.gradus.benchmarks.MatmulBenchmark} (Tensor API vs raw OpenBLAS) and
 * {@link dev.gradus.benchmarks.MlpBenchmark} (a training step and an epoch of the MNIST MLP).
 */
package dev.gradus.benchmarks;
