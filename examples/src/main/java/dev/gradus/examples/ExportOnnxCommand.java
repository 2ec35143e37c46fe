package dev.gradus.examples;

import dev.gradus.Device;
import dev.gradus.nn.Module;
import dev.gradus.onnx.Onnx;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Writes a model saved by an example ({@code --save}) as an ONNX file that takes what {@code predict} feeds, pixels
 * in [0, 1] as {@code [N, 1, 28, 28]}, with the example's normalisation inside, and gives logits {@code [N, 10]}.
 *
 * <pre>{@code ExportOnnxCommand.export(Path.of("bn-cnn.safetensors"), Path.of("bn-cnn.onnx"), System.out);}</pre>
 */
@Command(
        name = "export-onnx",
        description =
                "Write a saved example model as a self-contained ONNX file ([N, 1, 28, 28] pixels in, logits out).")
public final class ExportOnnxCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "a .safetensors file written by an example's --save")
    Path model;

    @Option(names = "--out", required = true, description = "the ONNX file to write")
    Path out;

    @Override
    public Integer call() throws IOException {
        export(model, out, System.out);
        return 0;
    }

    /** Rebuilds the model in {@code modelFile}, loads its weights and writes {@code onnxFile}. */
    public static void export(Path modelFile, Path onnxFile, PrintStream log) throws IOException {
        Models.Saved saved = Models.load(modelFile, Device.defaultDevice());
        Map<String, String> meta = saved.meta();
        try (Module model = saved.model()) {
            Onnx.Config config = Onnx.Config.of(1, 1, 28, 28);
            float[] norm = Models.normalization(meta);
            if (norm != null) {
                config = config.withNormalization(norm[0], norm[1]);
            }
            Onnx.export(model, config, onnxFile);
        }
        log.printf(
                "wrote %s (%s, ONNX opset %d): input [N, 1, 28, 28] pixels in [0, 1], output logits [N, 10]%n",
                onnxFile, meta.get("gradus.example"), Onnx.OPSET);
    }
}
