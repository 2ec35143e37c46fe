package dev.gradus.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.datasets.Idx;
import dev.gradus.examples.MlpCommand;
import dev.gradus.examples.PredictCommand;
import dev.gradus.examples.TrainOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The MNIST test set scored as a Spark data set gives the examples' {@code predict} labels, image for image. */
class SparkInferenceTest extends LocalSparkTest {
    @Test
    void sparkPredictionsEqualSingleMachinePredictOnAllTenThousandImages(@TempDir Path dir) throws Exception {
        Path mnist = TestData.mnistDir();
        TrainOptions o = TrainOptions.defaults(1, 128, 0.01f, dir.resolve("train"));
        o.data = mnist;
        o.offline = true;
        Path model = dir.resolve("mlp.safetensors");
        MlpCommand.train(o, 48, model, System.out);
        Path images = mnist.resolve("t10k-images-idx3-ubyte.gz");

        int[] single = PredictCommand.predict(model, images, dir.resolve("single"), System.out);
        int before = ModelScorer.loadedModels();
        int[] spread = SparkPredictCommand.predict(spark, model, images, dir.resolve("spark"), 4, System.out);

        assertEquals(10_000, spread.length);
        assertArrayEquals(single, spread, "Spark's labels differ from predict's");
        assertArrayEquals(
                Files.readAllBytes(dir.resolve("single/submission.csv")),
                Files.readAllBytes(dir.resolve("spark/submission.csv")),
                "the two submission.csv files differ");
        assertEquals(before + 1, ModelScorer.loadedModels(), "four partitions, one model loaded in this JVM");
        int[] labels = Idx.read(mnist.resolve("t10k-labels-idx1-ubyte.gz")).toInts();
        int right = 0;
        for (int i = 0; i < labels.length; i++) {
            right += spread[i] == labels[i] ? 1 : 0;
        }
        assertTrue(right > 9_000, right + " of 10,000 right: not a trained model's answers");
    }
}
