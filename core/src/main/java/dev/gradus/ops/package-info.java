/**
 * Ops defined in one place: name, output-shape rule, forward (kernels or a composition) and backward, run on every
 * backend through one SPI entry point ({@link dev.gradus.spi.Backend#runKernel}).
 *
 * <table>
 * <caption>Contents</caption>
 * <tr><th>File</th><th>What it holds</th></tr>
 * <tr><td>{@link dev.gradus.ops.Op}</td><td>the immutable definition and {@code apply(Tensor...)}</td></tr>
 * <tr><td>{@link dev.gradus.ops.OpBuilder}</td><td>how one is made: kernels or a composed forward, a backward</td></tr>
 * <tr><td>{@link dev.gradus.ops.ShapeRule}</td><td>the output shape from the inputs', with two common rules</td></tr>
 * <tr><td>{@link dev.gradus.ops.OpBackward}</td><td>the inputs' gradients from {@code dOut}, the output and the
 * inputs</td></tr>
 * <tr><td>{@code OpCall}</td><td>what {@code apply} does: checks, contiguous inputs, the backend call, the
 * autograd record</td></tr>
 * <tr><td>{@code BuiltIn}</td><td>how the built-in ops are written and run: a forward and gradient that may read a
 * scalar attribute, without the checks meant for users' kernels</td></tr>
 * <tr><td>{@link dev.gradus.ops.ArithmeticOps}</td><td>add, sub, mul, div, maximum, minimum, addScalar, mulScalar,
 * pow, neg</td></tr>
 * <tr><td>{@link dev.gradus.ops.MathOps}</td><td>exp, log, sqrt, abs, erf, sin, cos</td></tr>
 * <tr><td>{@link dev.gradus.ops.ActivationOps}</td><td>relu, sigmoid, tanh, gelu, geluTanh, silu,
 * leakyRelu</td></tr>
 * <tr><td>{@link dev.gradus.ops.ComparisonOps}</td><td>eq, ne, gt, lt, ge, le (no gradient)</td></tr>
 * <tr><td>{@link dev.gradus.ops.BuiltInOps}</td><td>where the built-in ops are; a few named as before</td></tr>
 * <tr><td>{@link dev.gradus.ops.LstmCell}, {@link dev.gradus.ops.GruCell}</td><td>fused recurrent cells (Java and
 * CUDA kernels)</td></tr>
 * </table>
 *
 * <p>The kernels' own types are in the SPI, which backends see: {@link dev.gradus.spi.JavaKernel} (float views),
 * {@link dev.gradus.spi.CudaSource} (the CUDA launch contract) and {@link dev.gradus.spi.OpKernels} (both, by
 * name). The guide is {@code docs/custom-ops.md}.
 *
 * <pre>{@code
 * Op twice = Op.builder("twice").shape(ShapeRule.sameShapes())
 *         .cpu((in, shapes, out, outShape) -> { for (int i = 0; i < out.limit(); i++) out.put(i, 2 * in[0].get(i)); })
 *         .backward((d, out, in) -> new Tensor[] {d.mul(2f)})
 *         .build();
 * }</pre>
 */
package dev.gradus.ops;
