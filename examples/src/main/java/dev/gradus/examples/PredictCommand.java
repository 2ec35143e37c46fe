package dev.gradus.examples;

import dev.gradus.Device;
import dev.gradus.GradMode;
import dev.gradus.Scope;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.Idx;
import dev.gradus.datasets.KaggleDigits;
import dev.gradus.datasets.Normalize;
import dev.gradus.nn.Module;
import dev.gradus.train.Evaluation;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Loads a saved model and classifies a Kaggle {@code test.csv} or an IDX image file, writing Kaggle's
 * {@code submission.csv}.
 */
@Command(
        name = "predict",
        description = "Classify a Kaggle test.csv or an IDX image file with a saved model; write submission.csv.")
public final class PredictCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "a .safetensors file written with --save")
    Path model;

    @Option(names = "--input", required = true, description = "Kaggle test.csv, or an IDX file of [n, 28, 28] images")
    Path input;

    @Option(names = "--out", description = "folder for submission.csv (default: ${DEFAULT-VALUE})")
    Path out = Path.of("out", "predict");

    @Override
    public Integer call() throws IOException {
        predict(model, input, out, System.out);
        return 0;
    }

    /** Predicted labels for every image of {@code input}, also written to {@code out/submission.csv}. */
    public static int[] predict(Path modelFile, Path input, Path out, PrintStream log) throws IOException {
        Device device = Device.defaultDevice();
        Dataset images = load(input);
        int[] preds;
        Models.Saved saved = Models.load(modelFile, device);
        Map<String, String> meta = saved.meta();
        try (Module model = saved.model()) {
            DataLoader loader = new DataLoader(images, 1000);
            float[] norm = Models.normalization(meta);
            if (norm != null) {
                loader.transform(Normalize.of(norm[0], norm[1]));
            }
            try (GradMode ng = GradMode.noGrad();
                    Scope s = Scope.open()) {
                preds = Evaluation.evaluate(model, loader, device).predictions();
            }
        }
        Path file = out.resolve("submission.csv");
        KaggleDigits.writeSubmission(file, preds);
        log.printf(
                "%d predictions from %s (%s) written to %s%n",
                preds.length, modelFile, meta.get("gradus.example"), file);
        return preds;
    }

    private static Dataset load(Path input) throws IOException {
        if (input.getFileName().toString().endsWith(".csv")) {
            return KaggleDigits.readTest(input);
        }
        Idx.Array a = Idx.read(input);
        if (a.dims().length != 3) {
            throw new IllegalArgumentException(
                    input + ": expected IDX images [n, rows, cols], got " + Arrays.toString(a.dims()));
        }
        return Dataset.unlabeled(
                input.getFileName().toString(), a.toFloats(1f / 255f), new int[] {1, a.dims()[1], a.dims()[2]}, 10);
    }
}
