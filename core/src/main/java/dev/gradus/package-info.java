/**
 * Gradus core: tensors and reverse-mode autodiff.
 *
 * <ul>
 *   <li>{@link dev.gradus.Tensor}: n-d arrays, elementwise ops with broadcasting, matmul, reductions, views,
 *       softmax and the fused cross-entropy; {@code backward()}. {@code sort} and {@code topk} return a
 *       {@link dev.gradus.ValuesAndIndices}.</li>
 *   <li>{@link dev.gradus.Functional}: the fused ops (convolution, pooling, batch norm, softmax, losses);
 *       {@link dev.gradus.Autograd}: the engine, and {@code record} for differentiable ops of your own.</li>
 *   <li>{@link dev.gradus.Shape}, {@link dev.gradus.DType}, {@link dev.gradus.Device}.</li>
 *   <li>{@link dev.gradus.Scope}: releases a step's intermediates; {@link dev.gradus.GradMode}: no-grad
 *       inference; {@link dev.gradus.Anomaly}: stop at the first NaN or infinity, naming the op and layer.</li>
 *   <li>{@link dev.gradus.Backends}: finds backends with {@code ServiceLoader} (and lists those started, for
 *       memory checks); {@link dev.gradus.Rng}: seeded random numbers.</li>
 * </ul>
 * Layers are in {@link dev.gradus.nn}, optimizers in {@link dev.gradus.optim}, the backend SPI in
 * {@link dev.gradus.spi}, ops defined in one place (shape rule, Java and CUDA kernels, backward) in
 * {@link dev.gradus.ops}. Inside the package, {@code Tensor} is the public face: the bodies of its ops, each with
 * its gradient rule beside its forward, are in {@code Elementwise} (arithmetic, math, activations; {@code sin} and
 * {@code cos} are {@code dev.gradus.ops.BuiltInOps}), {@code TensorOps} (creation, shape, reductions, comparisons, indexing),
 * {@code Statistics} ({@code var}, {@code std}, sums over several axes), {@code Selection} ({@code select}, stepped
 * {@code slice}, {@code flip}, {@code tril}/{@code triu}, {@code maskedFill}, {@code cumsum}, {@code linspace}) and
 * {@code Sorting} ({@code sort}, {@code topk}); printing is in {@code TensorFormat}.
 */
package dev.gradus;
