/**
 * Models out to ONNX.
 *
 * <ul>
 *   <li>{@link dev.gradus.onnx.Onnx}: writes a {@code Sequential} (Dense, Conv2d, pooling, batch norm,
 *       activations, Flatten, Dropout) as an opset-13 ONNX file, with optional input normalisation.
 * </ul>
 */
package dev.gradus.onnx;
