package dev.gradus.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.KaggleDigits;
import dev.gradus.datasets.Mnist;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
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
        for (String f : new String[] {"metrics.json", "history.csv", "history.json", "curves.png", "confusion.png",
            "misclassified.png", "submission.csv", "model.safetensors"}) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        assertEquals(3, Files.readAllLines(out.resolve("history.csv")).size(), "header and two epochs");
        int[] submitted = KaggleDigits.readSubmission(out.resolve("submission.csv"));
        assertEquals(1000, submitted.length);
        int[] again = PredictCommand.predict(out.resolve("model.safetensors"), testCsv, dir.resolve("again"),
                new PrintStream(new ByteArrayOutputStream()));
        assertArrayEquals(submitted, again, "the loaded model predicts exactly what the trained one did");
        int right = 0;
        for (int i = 0; i < 1000; i++) {
            right += again[i] == train.labels()[6000 + i] ? 1 : 0;
        }
        assertTrue(right > 800, right + " of 1000 test images right");
    }
}
