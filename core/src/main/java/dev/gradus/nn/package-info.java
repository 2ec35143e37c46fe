/**
 * Layers: {@link dev.gradus.nn.Module} and {@link dev.gradus.nn.Parameter}, {@link dev.gradus.nn.Sequential},
 * {@link dev.gradus.nn.Dense}, {@link dev.gradus.nn.Flatten}, activations {@link dev.gradus.nn.ReLU},
 * {@link dev.gradus.nn.Sigmoid}, {@link dev.gradus.nn.Tanh}, {@link dev.gradus.nn.Softmax}; initialisations in
 * {@link dev.gradus.nn.Init}.
 */
package dev.gradus.nn;
