/**
 * Layers and models, as {@code torch.nn}.
 *
 * <ul>
 *   <li>Building blocks: {@link dev.gradus.nn.Module} (parameters, buffers, children, found in fields too),
 *       {@link dev.gradus.nn.Parameter}, {@link dev.gradus.nn.Sequential} (which runs Conv2d+ReLU+MaxPool2d and
 *       Conv2d+ReLU as one op each and reorders ReLU+MaxPool2d, without changing results).</li>
 *   <li>Linear and convolution: {@link dev.gradus.nn.Dense}, {@link dev.gradus.nn.Conv2d},
 *       {@link dev.gradus.nn.ConvTranspose2d}.</li>
 *   <li>Pooling and shape: {@link dev.gradus.nn.MaxPool2d}, {@link dev.gradus.nn.AvgPool2d},
 *       {@link dev.gradus.nn.AdaptiveAvgPool2d}, {@link dev.gradus.nn.GlobalAvgPool2d},
 *       {@link dev.gradus.nn.Flatten}.</li>
 *   <li>Normalisation and regularisation: {@link dev.gradus.nn.BatchNorm1d}, {@link dev.gradus.nn.BatchNorm2d}
 *       (settings in {@link dev.gradus.nn.BatchNorm.Config}), {@link dev.gradus.nn.Dropout}.</li>
 *   <li>Activations: {@link dev.gradus.nn.ReLU}, {@link dev.gradus.nn.Sigmoid}, {@link dev.gradus.nn.Tanh},
 *       {@link dev.gradus.nn.Softmax}.</li>
 *   <li>Initialisation: {@link dev.gradus.nn.Init}; layers built without an {@code Rng} seed from
 *       {@link dev.gradus.Rng#manualSeed}'s stream.</li>
 *   <li>Errors and utilities: {@link dev.gradus.nn.LayerException} (bad input to a layer of a Sequential),
 *       {@link dev.gradus.nn.ClipGrad} (gradient clipping by norm or value), {@link dev.gradus.nn.FlatParameters}
 *       (all values or gradients as one flat array, for all-reduce and broadcast).</li>
 * </ul>
 */
package dev.gradus.nn;
