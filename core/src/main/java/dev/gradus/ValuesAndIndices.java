package dev.gradus;

/**
 * The result of {@link Tensor#sort} and {@link Tensor#topk}, as PyTorch's {@code (values, indices)} pair: the
 * values picked along an axis and, as {@code INT32}, where along that axis each came from.
 *
 * <p>Shapes: both alike. {@code x.topk(3, 1, true, true).indices()} of {@code [N, 10]} logits is {@code [N, 3]}.
 *
 * @param values the picked values (gradients flow back to the input through them)
 * @param indices their positions along the axis, {@code INT32}
 */
public record ValuesAndIndices(Tensor values, Tensor indices) {}
