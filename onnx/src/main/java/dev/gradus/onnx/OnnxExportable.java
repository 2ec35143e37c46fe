package dev.gradus.onnx;

/**
 * A model with a forward of its own (not a {@code Sequential}) that writes that forward into an ONNX graph: its
 * children with {@link OnnxGraph#module}, its own steps (reshapes, slices, concatenations, additions, its own
 * weights) with {@link OnnxGraph}'s tensor steps, in the order its {@code forward} does them.
 *
 * <p>Shapes: {@code x} is what {@code forward} gets; the value returned is what it returns.
 *
 * <pre>{@code
 * public OnnxGraph.Value toOnnx(OnnxGraph graph, OnnxGraph.Value x, String name) {
 *     return graph.module(head, graph.module(body, x, name + "_body"), name + "_head");   // head(body(x))
 * }
 * }</pre>
 */
public interface OnnxExportable {
    /**
     * Writes this module's {@code forward} applied to {@code x}, naming nodes and weights after {@code name}, and
     * returns its output.
     *
     * @throws IllegalArgumentException if some part has no ONNX form, or {@code x} is not an input it takes
     */
    OnnxGraph.Value toOnnx(OnnxGraph graph, OnnxGraph.Value x, String name);
}
