/**
 * Optimizers: {@link dev.gradus.optim.SGD} (momentum, Nesterov, weight decay) and {@link dev.gradus.optim.Adam}
 * (bias correction, AdamW), both as fused backend kernels.
 */
package dev.gradus.optim;
