/**
 * Gradus core: tensors and reverse-mode autodiff.
 *
 * <ul>
 *   <li>{@link dev.gradus.Tensor}: n-d arrays, elementwise ops with broadcasting, matmul, reductions, views,
 *       softmax and the fused cross-entropy; {@code backward()}.</li>
 *   <li>{@link dev.gradus.Shape}, {@link dev.gradus.DType}, {@link dev.gradus.Device}.</li>
 *   <li>{@link dev.gradus.Scope}: releases a step's intermediates; {@link dev.gradus.GradMode}: no-grad
 *       inference; {@link dev.gradus.Anomaly}: stop at the first NaN or infinity, naming the op and layer.</li>
 *   <li>{@link dev.gradus.Backends}: finds backends with {@code ServiceLoader} (and lists those started, for
 *       memory checks); {@link dev.gradus.Rng}: seeded random numbers.</li>
 * </ul>
 * Layers are in {@link dev.gradus.nn}, optimizers in {@link dev.gradus.optim}, the backend SPI in
 * {@link dev.gradus.spi}.
 */
package dev.gradus;
