package dev.gradus.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Mnist;
import dev.gradus.nn.Module;
import dev.gradus.train.Evaluation;
import dev.gradus.train.Training;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MlpExampleTest {
    static Path mnistDir() {
        String env = System.getenv("GRADUS_DATA");
        Path dir = env == null || env.isBlank() ? null : Path.of(env, "mnist");
        if (dir == null || !Files.isDirectory(dir)) {
            if (System.getenv("CI") != null) {
                fail("MNIST not found under GRADUS_DATA=" + env + " (CI is set, so this is a failure)");
            }
            assumeTrue(false, "MNIST not found under GRADUS_DATA=" + env);
        }
        return dir;
    }

    @Test
    void twoEpochsOnFullMnistReach95Percent(@TempDir Path out) throws Exception {
        TrainOptions o = TrainOptions.defaults(2, 128, 0.01f, out);
        o.data = mnistDir();
        o.memoryReport = true;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Path saved = out.resolve("mlp.safetensors");
        Training.Result r = MlpCommand.train(o, 48, saved, new PrintStream(buf, true));
        String log = buf.toString();
        System.out.print(log);
        assertTrue(r.testAccuracy() >= 0.95, "test accuracy " + r.testAccuracy());
        // --save writes a file that predict and export-onnx rebuild (Flatten, Dense, ReLU, Dense), with the same
        // predictions
        Mnist.Splits mnist = Mnist.load(o.data, false);
        Models.Saved back = Models.load(saved, Device.defaultDevice());
        try (Module model = back.model()) {
            assertEquals("mlp", back.meta().get("gradus.example"));
            Evaluation.Outcome again =
                    Evaluation.evaluate(model, new DataLoader(mnist.test(), 1000), Backends.defaultBackend());
            assertEquals(r.testAccuracy(), again.accuracy(), 1e-12);
        }
        JsonNode m = new ObjectMapper().readTree(out.resolve("metrics.json").toFile());
        assertEquals(r.testAccuracy(), m.get("test_accuracy").asDouble(), 1e-12);
        assertEquals(2, m.get("epoch_seconds").size());
        assertEquals(2, m.get("native_bytes").size());
        // Every run measures inference: the last evaluation pass over the 10,000 test images.
        assertTrue(m.get("eval_images_per_second").asLong() > 0, m.toString());
        assertEquals(
                10_000 / r.last().seconds(), m.get("eval_images_per_second").asDouble(), 1.0);
        assertEquals(
                m.get("native_bytes").get(0).asLong(),
                m.get("native_bytes").get(1).asLong(),
                "live native bytes stay flat between epochs");
        assertEquals(2, o.memoryReport().samples().size());
        assertEquals(0.0, o.memoryReport().liveDrift(), "--memory-report: live bytes of epoch 2 against epoch 1");
        assertTrue(
                log.contains("heap_committed") && log.contains("memory after epoch 1: live bytes moved 0.000%"), log);
        assertTrue(
                log.contains("epoch  train_loss   test_loss   accuracy") && log.contains("Total params: 38,170"), log);
        assertTrue(Files.readAllLines(out.resolve("history.csv"))
                .get(0)
                .startsWith("epoch,train_loss,test_loss,test_accuracy"));
    }

    @Test
    void offlineMissingDataSaysWhereItLookedAndHowToFixIt(@TempDir Path dir) {
        TrainOptions o = TrainOptions.defaults(1, 128, 0.01f, dir.resolve("out"));
        o.data = dir.resolve("no-such-folder");
        o.offline = true;
        Exception e = Assertions.assertThrows(
                FileNotFoundException.class,
                () -> MlpCommand.train(o, 48, new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("no-such-folder") && e.getMessage().contains("GRADUS_DATA"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertTrue(!Files.exists(o.data), "offline: nothing fetched or created");
    }

    /** A corporate mirror on the loopback: the first run downloads MNIST into an empty folder and trains on it. */
    @Test
    void aMirrorServesTheFirstRunIntoAnEmptyFolder(@TempDir Path dir) throws Exception {
        Path real = mnistDir();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        List<String> served = new CopyOnWriteArrayList<>();
        server.createContext("/mirror/mnist/", ex -> {
            Path f = real.resolve(
                    Path.of(ex.getRequestURI().getPath()).getFileName().toString());
            if (Files.isRegularFile(f)) {
                byte[] body = Files.readAllBytes(f);
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
                served.add(f.getFileName().toString());
            } else {
                ex.sendResponseHeaders(404, -1);
            }
            ex.close();
        });
        server.start();
        System.setProperty(
                "gradus.datasets.mirror",
                "http://127.0.0.1:" + server.getAddress().getPort() + "/mirror");
        try {
            TrainOptions o = TrainOptions.defaults(1, 128, 0.01f, dir.resolve("out"));
            o.data = dir.resolve("fresh");
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            Training.Result r = MlpCommand.train(o, 48, new PrintStream(buf, true));
            assertEquals(4, served.size(), "each file fetched once: " + served);
            assertTrue(r.testAccuracy() >= 0.9, "test accuracy " + r.testAccuracy());
            // the second run finds the files and fetches nothing
            TrainOptions again = TrainOptions.defaults(1, 128, 0.01f, dir.resolve("out2"));
            again.data = o.data;
            MlpCommand.train(again, 48, new PrintStream(new ByteArrayOutputStream()));
            assertEquals(4, served.size());
        } finally {
            System.clearProperty("gradus.datasets.mirror");
            server.stop(0);
        }
    }
}
