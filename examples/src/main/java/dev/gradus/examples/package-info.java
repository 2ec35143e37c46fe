/**
 * Runnable examples: {@link dev.gradus.examples.Main} (the launcher), {@link dev.gradus.examples.MlpCommand}
 * (Flux.jl MNIST MLP), {@link dev.gradus.examples.DoctorCommand} (what loads here),
 * {@link dev.gradus.examples.Evaluation} (accuracy).
 */
package dev.gradus.examples;
