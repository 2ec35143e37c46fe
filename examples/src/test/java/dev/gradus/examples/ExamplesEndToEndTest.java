package dev.gradus.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.datasets.CsvFormatException;
import dev.gradus.datasets.DataSetNotFoundException;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.KaggleDigits;
import dev.gradus.datasets.Mnist;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.Sequential;
import dev.gradus.train.Training;
import dev.gradus.train.TrainingDivergedException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kaggle and predict commands end to end on Kaggle-format files made from a slice of the real MNIST. */
class ExamplesEndToEndTest {
    @Test
    void kaggleTrainsWritesASubmissionAndPredictReproducesIt(@TempDir Path dir) throws Exception {
        Dataset train = Mnist.load(MlpExampleTest.mnistDir()).train();
        Path trainCsv = dir.resolve("train.csv");
        Path testCsv = dir.resolve("test.csv");
        KaggleDigits.writeTrain(trainCsv, train.subset(0, 6000));
        KaggleDigits.writeTest(testCsv, train.subset(6000, 7000));
        TrainOptions o = TrainOptions.defaults(2, 64, 0.001f, dir.resolve("out"));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Training.Result r = KaggleCommand.train(o, trainCsv, testCsv, "linear", null, new PrintStream(log, true));
        assertTrue(r.testAccuracy() > 0.85, "valid accuracy " + r.testAccuracy() + "\n" + log);
        Path out = dir.resolve("out");
        for (String f : new String[] {
            "metrics.json",
            "history.csv",
            "history.json",
            "curves.png",
            "confusion.png",
            "misclassified.png",
            "submission.csv",
            "model.safetensors"
        }) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        assertEquals(3, Files.readAllLines(out.resolve("history.csv")).size(), "header and two epochs");
        int[] submitted = KaggleDigits.readSubmission(out.resolve("submission.csv"));
        assertEquals(1000, submitted.length);
        int[] again = PredictCommand.predict(
                out.resolve("model.safetensors"),
                testCsv,
                dir.resolve("again"),
                new PrintStream(new ByteArrayOutputStream()));
        assertArrayEquals(submitted, again, "the loaded model predicts exactly what the trained one did");
        int right = 0;
        for (int i = 0; i < 1000; i++) {
            right += again[i] == train.labels()[6000 + i] ? 1 : 0;
        }
        assertTrue(right > 800, right + " of 1000 test images right");
    }

    @Test
    void kaggleRefusesToTrainOnNothing(@TempDir Path dir) throws Exception {
        Dataset d = Mnist.load(MlpExampleTest.mnistDir()).test().subset(0, 2);
        Path out = dir.resolve("out");
        TrainOptions o = TrainOptions.defaults(1, 64, 0.001f, out);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Path test = dir.resolve("test.csv");
        KaggleDigits.writeTest(test, d);
        // A header-only train.csv, a header-only test.csv, and two rows (an 80/20 split leaves no validation row).
        Path headerOnly = dir.resolve("header-only.csv");
        KaggleDigits.writeTrain(headerOnly, d.subset(0, 0));
        Path emptyTest = dir.resolve("empty-test.csv");
        KaggleDigits.writeTest(emptyTest, d.subset(0, 0));
        Path two = dir.resolve("two.csv");
        KaggleDigits.writeTrain(two, d);
        CsvFormatException e1 = assertThrows(
                CsvFormatException.class, () -> KaggleCommand.train(o, headerOnly, test, "linear", null, quiet));
        assertTrue(
                e1.getMessage().contains("header-only.csv:2") && e1.getMessage().contains("no data rows"),
                e1.getMessage());
        CsvFormatException e2 = assertThrows(
                CsvFormatException.class, () -> KaggleCommand.train(o, two, emptyTest, "linear", null, quiet));
        assertTrue(e2.getMessage().contains("empty-test.csv:2"), e2.getMessage());
        IllegalArgumentException e3 = assertThrows(
                IllegalArgumentException.class, () -> KaggleCommand.train(o, two, test, "linear", null, quiet));
        assertTrue(e3.getMessage().contains("2 rows are too few"), e3.getMessage());
        assertFalse(Files.exists(out.resolve("model.safetensors")), "no model trained on nothing");
        assertFalse(Files.exists(out.resolve("submission.csv")), "no submission for nothing");
    }

    static Path fashionDir() {
        return MlpExampleTest.mnistDir().resolveSibling("fashion-mnist");
    }

    @Test
    void fashionMlpPrintsSummaryConfusionMatrixAndPerClassAccuracy(@TempDir Path dir) throws Exception {
        TrainOptions o = TrainOptions.defaults(1, 32, 0.001f, dir);
        o.data = fashionDir();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Training.Result r = FashionMlpCommand.train(o, new int[] {20}, 0f, null, new PrintStream(buf, true));
        String log = buf.toString();
        assertTrue(r.testAccuracy() > 0.78, "one epoch: " + r.testAccuracy());
        assertTrue(
                log.contains("Total params: 15,910")
                        && log.contains("confusion matrix")
                        && log.contains("Ankle boot")
                        && log.contains("per-class accuracy"),
                log);
        assertTrue(Files.size(dir.resolve("misclassified.png")) > 1000);
    }

    @Test
    void bnCnnSavesAModelThatPredictPicksUpFromIdx(@TempDir Path dir) throws Exception {
        TrainOptions o = TrainOptions.defaults(1, 128, 0.001f, dir.resolve("out"));
        o.data = MlpExampleTest.mnistDir();
        Path model = dir.resolve("bn-cnn.safetensors");
        Training.Result r = BnCnnCommand.train(o, false, model, new PrintStream(new ByteArrayOutputStream()));
        assertTrue(r.testAccuracy() > 0.97, "one epoch: " + r.testAccuracy());
        int[] preds = PredictCommand.predict(
                model,
                o.data.resolve("t10k-images-idx3-ubyte.gz"),
                dir.resolve("p"),
                new PrintStream(new ByteArrayOutputStream()));
        int[] truth = Mnist.load(o.data).test().labels();
        int right = 0;
        for (int i = 0; i < truth.length; i++) {
            right += preds[i] == truth[i] ? 1 : 0;
        }
        assertEquals(
                r.testAccuracy(),
                right / (double) truth.length,
                1e-12,
                "the reloaded model scores exactly what the trained one did");
    }

    /** What the command line prints for an error: one line, the file named, the wrong field named. */
    @Test
    void errorsPrintOneLineNamingTheFileAndField(@TempDir Path dir) throws Exception {
        Path missing = Path.of("/nonexistent/model.safetensors");
        Exception e = assertThrows(IOException.class, () -> Models.load(missing, Device.defaultDevice()));
        assertEquals("error: /nonexistent/model.safetensors: no such file or directory", Main.errorLine(e));

        Path lots = dir.resolve("lots.safetensors");
        try (Sequential m = Models.mlp(Device.defaultDevice(), new int[] {4}, 0f, new Rng(1))) {
            Safetensors.save(m, lots, Map.of("gradus.example", "mlp", "gradus.hidden", "4", "gradus.dropout", "lots"));
        }
        e = assertThrows(IOException.class, () -> Models.load(lots, Device.defaultDevice()));
        String line = Main.errorLine(e);
        assertTrue(line.contains(lots.toString()) && line.contains("gradus.dropout") && line.contains("'lots'"), line);

        // The library's messages speak of its API; the command line adds its own flags.
        line = Main.errorLine(new TrainingDivergedException("x: training loss became NaN at step 1 of epoch 1"));
        assertTrue(line.contains("--lr") && line.contains("--detect-anomaly"), line);
        line = Main.errorLine(new DataSetNotFoundException("mnist", true, "The mnist data set was not found"));
        assertTrue(line.contains("--data DIR") && line.contains("--offline"), line);
    }
}
