/**
 * Models out to ONNX.
 *
 * <ul>
 *   <li>{@link dev.gradus.onnx.Onnx}: writes a {@code Sequential} of built-in layers (dense, convolution, pooling,
 *       normalisation, embedding, activations, LSTM/GRU, attention and transformer encoders), or a model that is
 *       {@link dev.gradus.onnx.OnnxExportable}, as an opset-17 ONNX file, with optional input normalisation.
 *   <li>{@link dev.gradus.onnx.OnnxExportable} and {@link dev.gradus.onnx.OnnxGraph}: how a model with a forward of
 *       its own writes that forward.
 * </ul>
 */
package dev.gradus.onnx;
