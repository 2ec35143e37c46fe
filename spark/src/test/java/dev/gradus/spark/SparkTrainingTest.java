package dev.gradus.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The examples' mlp (784-48-10, Adam 0.01, global batch 128, 10 epochs, StepLR(7, 0.1)) trained on MNIST by two
 * workers in a {@code local[2]} barrier stage: the single-machine accuracy; with a worker killed mid-epoch, the job
 * resumes from rank 0's checkpoint and ends with the very same model.
 */
class SparkTrainingTest extends LocalSparkTest {
    private static byte[] cleanModel;

    @TempDir
    static Path dir;

    private static SparkTrainCommand options(String name) {
        return SparkTrainCommand.options("mlp", 2, 10, dir.resolve(name)).data(TestData.mnistDir());
    }

    private static synchronized byte[] clean() throws Exception {
        if (cleanModel == null) {
            SparkTrainCommand o = options("clean");
            SparkTrainCommand.Result r = SparkTrainCommand.train(spark, o, System.out);
            assertEquals(1, r.outcome().attempts());
            assertTrue(r.testAccuracy() >= 0.97, "test accuracy " + r.testAccuracy());
            assertEquals(2, r.outcome().workers().size());
            assertEquals(10 * (30_000 / 64), r.outcome().rank0().steps(), "10 epochs of 468 steps of 2 x 64 images");
            assertEquals(
                    r.outcome().workers().get(0).steps(),
                    r.outcome().workers().get(1).steps());
            assertNull(r.outcome().workers().get(1).model(), "only rank 0 sends the model back");
            JsonNode m = new ObjectMapper().readTree(Files.readAllBytes(r.out().resolve("metrics.json")));
            assertEquals(r.testAccuracy(), m.get("test_accuracy").asDouble());
            assertEquals(2, m.get("workers").asInt());
            assertEquals(10, m.get("train_loss").size());
            assertTrue(
                    m.get("train_loss").get(9).asDouble()
                            < m.get("train_loss").get(0).asDouble(),
                    m.toString());
            cleanModel = r.outcome().model();
        }
        return cleanModel;
    }

    @Test
    void twoWorkersReachTheSingleMachineAccuracy() throws Exception {
        clean();
    }

    @Test
    void aWorkerKilledMidEpochResumesFromTheCheckpointToTheSameModel() throws Exception {
        SparkTrainCommand o = options("killed");
        long killAt = 2 * 468 + 200 + 36; // in the third epoch, 72 steps after rank 0's checkpoint at step 1100
        SparkTrainCommand.Result r = SparkTrainCommand.train(spark, o, o.config(1, killAt), System.out);
        assertEquals(2, r.outcome().attempts(), r.outcome().failures().toString());
        String why = r.outcome().failures().get(0);
        // Spark reports whichever task's failure it saw first: the killed worker's, or its neighbour's naming it.
        assertTrue(why.contains("rank 1 killed at step " + killAt) || why.contains("rank 1 at "), why);
        assertEquals(2, r.outcome().rank0().firstEpoch(), "the second attempt resumed in the third epoch");
        assertEquals(10 * 468, r.outcome().rank0().steps());
        assertTrue(r.testAccuracy() >= 0.97, "test accuracy " + r.testAccuracy());
        // Resuming is exact: the same batches, the same optimizer state, the same sums in the same order.
        assertArrayEquals(clean(), r.outcome().model(), "the resumed run ends with the uninterrupted run's model");
    }
}
