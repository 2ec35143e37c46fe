/**
 * Model files: {@link dev.gradus.io.Safetensors} (save/load with PyTorch names and recorded architecture) and
 * {@link dev.gradus.io.ModelFormatException}.
 */
package dev.gradus.io;
