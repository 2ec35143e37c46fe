/**
 * Optimizers and learning-rate schedules.
 *
 * <ul>
 *   <li>{@link dev.gradus.optim.SGD} (momentum, dampening, Nesterov, weight decay) and {@link dev.gradus.optim.Adam}
 *       (bias correction, L2 or AdamW's decoupled decay); {@link dev.gradus.optim.Optimizer} holds the rate, the
 *       step count and the checkpointed state.
 *   <li>{@link dev.gradus.optim.LRScheduler} and, as PyTorch's: {@link dev.gradus.optim.StepLR},
 *       {@link dev.gradus.optim.CosineAnnealingLR}, {@link dev.gradus.optim.LinearLR} (warmup),
 *       {@link dev.gradus.optim.OneCycleLR} (per batch) and {@link dev.gradus.optim.ReduceLROnPlateau}.
 * </ul>
 *
 * <p>An optimizer is one file. Its step is written in tensor ops (under {@code GradMode.noGrad()} in a
 * {@code Scope}, {@code copyFrom} into the parameter and its state): PyTorch's formulas, the reference, on every
 * backend with no backend code. It may add a fused step: a {@link dev.gradus.spi.UpdateKernels} in the same file (a
 * Java {@link dev.gradus.spi.UpdateKernel} over a range of elements, and optionally a CUDA source with the same
 * arithmetic), run with {@code backend.runUpdate(kernel, updated, inputs, scalars)}, which every backend runs (the
 * CPU backend on the storages' own memory over its threads, the CUDA backend the CUDA source, any other on host
 * copies); a {@code Config.withFused(false)} switch then picks the tensor code, and {@code OptimizerConformance}
 * checks the two against each other on every backend. Adding an optimizer touches no backend and no SPI: the
 * optimizer's file, and its lines in {@code OptimizerConformance}.
 *
 * <pre>{@code
 * static final UpdateKernels STEP = new UpdateKernels("mySgdStep", 1, 1, 1,
 *         (u, in, s, from, to) -> { for (int i = from; i < to; i++) u[0].put(i, u[0].get(i) - s[0] * in[0].get(i)); },
 *         null);
 * p.backend().runUpdate(STEP, new Operand[] {p.operand()}, new Operand[] {grad.operand()}, new float[] {lr()});
 * }</pre>
 */
package dev.gradus.optim;
