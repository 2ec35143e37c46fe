/**
 * Optimizers and learning-rate schedules.
 *
 * <ul>
 *   <li>{@link dev.gradus.optim.SGD} (momentum, Nesterov, weight decay) and {@link dev.gradus.optim.Adam} (bias
 *       correction, AdamW), both as fused backend kernels; {@link dev.gradus.optim.Optimizer} holds the rate.
 *   <li>{@link dev.gradus.optim.LRScheduler} and, as PyTorch's: {@link dev.gradus.optim.StepLR},
 *       {@link dev.gradus.optim.CosineAnnealingLR}, {@link dev.gradus.optim.LinearLR} (warmup),
 *       {@link dev.gradus.optim.OneCycleLR} (per batch) and {@link dev.gradus.optim.ReduceLROnPlateau}.
 * </ul>
 */
package dev.gradus.optim;
