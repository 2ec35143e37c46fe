package dev.gradus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.metrics.History;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.Module;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.CosineAnnealingLR;
import dev.gradus.optim.OneCycleLR;
import dev.gradus.optim.Optimizer;
import dev.gradus.optim.SGD;
import dev.gradus.spi.Backend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingTest {
    static Dataset blobs(int n, Rng rng) {
        float[] x = new float[n * 2];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 2;
            x[2 * i] = (float) (rng.nextGaussian() * 0.5 + (y[i] == 0 ? -2 : 2));
            x[2 * i + 1] = (float) (rng.nextGaussian() * 0.5);
        }
        return new Dataset("blobs", x, y, new int[] {2}, 2);
    }

    /** {@link Training#fit} on the CPU with no schedule, the test loader held out as "valid". */
    private static Training.Result fitOnCpu(
            String name,
            Module model,
            Optimizer opt,
            DataLoader train,
            DataLoader test,
            int epochs,
            PrintStream log,
            Training.Listener... listeners) {
        return Training.fit(new Training.Config(
                name,
                model,
                opt,
                null,
                train,
                test,
                "valid",
                epochs,
                CpuBackendProvider.get(),
                log,
                List.of(listeners)));
    }

    @Test
    void listenersHearStepsAndEpochsAndTheLoopLearns() {
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(3);
        Sequential model = new Sequential(new Dense(cpu, 2, 2, true, Init.PYTORCH, rng));
        SGD opt = new SGD(model.parameters(), SGD.Config.lr(0.1f));
        List<Map<String, Double>> epochs = new ArrayList<>();
        int[] steps = {0};
        Training.Listener l = new Training.Listener() {
            @Override
            public void onStep(int epoch, int step, int total, double meanLoss) {
                steps[0]++;
            }

            @Override
            public void onEpoch(Map<String, Double> metrics) {
                epochs.add(metrics);
            }
        };
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Training.Result r = fitOnCpu(
                "blobs",
                model,
                opt,
                new DataLoader(blobs(400, rng), 32).shuffle(1),
                new DataLoader(blobs(200, rng), 50),
                3,
                new PrintStream(log),
                l);
        assertEquals(3, epochs.size());
        assertEquals(3 * 13, steps[0]);
        assertTrue(r.testAccuracy() > 0.95, "accuracy " + r.testAccuracy());
        assertTrue(log.toString().contains("valid_loss"), log.toString());
        assertEquals(
                List.of("epoch", "train_loss", "valid_loss", "valid_accuracy", "seconds", "native_bytes"),
                r.history().columns());
        opt.close();
        model.close();
    }

    @Test
    void theLossCanBeReadEveryFewStepsAndANanIsStillCaught() {
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(3);
        System.setProperty("gradus.lossEvery", "4");
        try (Sequential model = new Sequential(new Dense(cpu, 2, 2, true, Init.PYTORCH, rng));
                SGD opt = new SGD(model.parameters(), SGD.Config.lr(0.1f))) {
            List<Integer> heard = new ArrayList<>();
            Training.Listener l = new Training.Listener() {
                @Override
                public void onStep(int epoch, int step, int total, double meanLoss) {
                    heard.add(step);
                }
            };
            Training.Result r = fitOnCpu(
                    "blobs",
                    model,
                    opt,
                    new DataLoader(blobs(400, rng), 32),
                    new DataLoader(blobs(200, rng), 50),
                    1,
                    new PrintStream(new ByteArrayOutputStream()),
                    l);
            assertEquals(List.of(4, 8, 12, 13), heard, "reads every 4 steps and at the end of the epoch");
            assertTrue(r.trainLoss().get(0) > 0 && r.testAccuracy() > 0.9, r.toString());

            Dataset d = blobs(64, rng);
            d.features()[2 * 40] = Float.NaN; // in the third batch of 16
            IllegalStateException e = assertThrows(
                    IllegalStateException.class,
                    () -> Training.fit(Training.Config.of(model, opt, new DataLoader(d, 16), new DataLoader(d, 64), 1)
                            .withName("nan")
                            .withBackend(cpu)
                            .withLog(new PrintStream(new ByteArrayOutputStream()))));
            assertTrue(e.getMessage().contains("training loss became NaN in steps 1-4 of epoch 1"), e.getMessage());
        } finally {
            System.clearProperty("gradus.lossEvery");
        }
    }

    @Test
    void aNanLossStopsWithAClearMessage() {
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(3);
        Dataset d = blobs(64, rng);
        d.features()[5] = Float.NaN;
        Sequential model = new Sequential(new Dense(cpu, 2, 2, true, Init.PYTORCH, rng));
        SGD opt = new SGD(model.parameters(), SGD.Config.lr(0.1f));
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> Training.fit(Training.Config.of(model, opt, new DataLoader(d, 64), new DataLoader(d, 64), 1)
                        .withName("nan")
                        .withBackend(cpu)
                        .withLog(new PrintStream(new ByteArrayOutputStream()))));
        assertTrue(e.getMessage().contains("training loss became NaN at step 1 of epoch 1"), e.getMessage());
        // A library's message speaks of its API, not of the examples' command-line flags (they add those).
        assertTrue(
                e instanceof TrainingDivergedException
                        && e.getMessage().contains("Lower the learning rate")
                        && !e.getMessage().contains("--"),
                e.getMessage());
        opt.close();
        model.close();
    }

    @Test
    void memoryReportSeesFlatTrainingAndCatchesAGrowingOne() {
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(4);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(log);
        try (Sequential model = new Sequential(new Dense(cpu, 2, 2, true, Init.PYTORCH, rng));
                SGD opt = new SGD(model.parameters(), SGD.Config.lr(0.1f))) {
            MemoryReport flat = new MemoryReport(cpu, out);
            fitOnCpu(
                    "flat",
                    model,
                    opt,
                    new DataLoader(blobs(256, rng), 32).shuffle(1),
                    new DataLoader(blobs(64, rng), 64),
                    5,
                    out,
                    flat);
            assertEquals(5, flat.samples().size());
            assertEquals(0.0, flat.liveDrift(), "live bytes of a steady loop");
            assertTrue(flat.samples().get(0).liveBytes() > 0, "parameters and gradients are live");

            List<dev.gradus.Tensor> leaked = new ArrayList<>();
            Training.Listener leaky = new Training.Listener() {
                @Override
                public void onEpoch(Map<String, Double> metrics) {
                    leaked.add(dev.gradus.Tensor.zeros(4096)); // 16 KiB never released
                }
            };
            MemoryReport growing = new MemoryReport(cpu, out);
            fitOnCpu(
                    "leaky",
                    model,
                    opt,
                    new DataLoader(blobs(256, rng), 32),
                    new DataLoader(blobs(64, rng), 64),
                    3,
                    out,
                    leaky,
                    growing);
            leaked.forEach(dev.gradus.Tensor::close);
            assertTrue(growing.liveDrift() > MemoryReport.LIVE_TOLERANCE, "drift " + growing.liveDrift());
            assertTrue(!growing.flat());
            growing.printVerdict();
            assertTrue(log.toString().contains("GROWING") && log.toString().contains("live_bytes"), log.toString());
        }
    }

    @Test
    void configNamesWhatIsMissingOrWrong() {
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(3);
        DataLoader d = new DataLoader(blobs(64, rng), 32);
        try (Sequential model = new Sequential(new Dense(cpu, 2, 2, true, Init.GLOROT, rng));
                SGD opt = new SGD(model.parameters(), SGD.Config.lr(0.1f))) {
            IllegalArgumentException noTest =
                    assertThrows(IllegalArgumentException.class, () -> Training.Config.of(model, opt, d, null, 1));
            assertEquals("Training.Config: test must not be null", noTest.getMessage());
            IllegalArgumentException epochs =
                    assertThrows(IllegalArgumentException.class, () -> Training.Config.of(model, opt, d, d, 0));
            assertEquals("Training.Config: epochs must be >= 1, got 0", epochs.getMessage());
            Training.Config c =
                    Training.Config.of(model, opt, d, d, 2).withName("n").withHeldOut("valid");
            assertEquals("n", c.name());
            assertEquals("valid", c.heldOut());
            assertEquals(2, c.epochs());
        }
    }

    /** Training.fit steps a per-batch schedule after every step, an epoch one after every epoch, a plateau one with the loss. */
    @Test
    void fitStepsEachScheduleWhenItsUnitSays() {
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(4);
        DataLoader train = new DataLoader(blobs(400, rng), 32);
        DataLoader valid = new DataLoader(blobs(200, rng), 50);
        try (Sequential model = new Sequential(new Dense(cpu, 2, 2, true, Init.PYTORCH, rng));
                SGD opt = new SGD(model.parameters(), SGD.Config.lr(0.1f))) {
            OneCycleLR cycle = new OneCycleLR(opt, 0.1f, 2 * 13);
            Training.fit(Training.Config.of(model, opt, train, valid, 2)
                    .withSchedule(cycle)
                    .withLog(new PrintStream(new ByteArrayOutputStream())));
            assertEquals(2 * 13, cycle.steps());
            assertEquals(0.1 / 25 / 1e4, opt.lr(), 1e-9, "the cycle ends at its minimum");
        }
        try (Sequential model = new Sequential(new Dense(cpu, 2, 2, true, Init.PYTORCH, rng));
                SGD opt = new SGD(model.parameters(), SGD.Config.lr(0.1f))) {
            CosineAnnealingLR cos = new CosineAnnealingLR(opt, 4, 0f);
            Training.fit(Training.Config.of(model, opt, train, valid, 2)
                    .withSchedule(cos)
                    .withLog(new PrintStream(new ByteArrayOutputStream())));
            assertEquals(2, cos.steps());
            assertEquals(0.05, opt.lr(), 1e-7);
        }
    }

    /**
     * Report pictures are saved as the models are: over a good file through a symbolic link, the link and the
     * file's permissions stay and the new picture is whole; a save that fails names the file and keeps the old one.
     */
    @Test
    void reportPicturesAreSavedAtomically(@TempDir Path dir) throws Exception {
        History h = new History();
        h.add(Map.of("epoch", 1.0, "train_loss", 0.9, "test_loss", 1.0, "train_accuracy", 0.5, "test_accuracy", 0.4));
        h.add(Map.of("epoch", 2.0, "train_loss", 0.5, "test_loss", 0.6, "train_accuracy", 0.8, "test_accuracy", 0.7));
        Path real = Files.createDirectories(dir.resolve("run-1")).resolve("curves.png");
        Files.write(real, new byte[] {1, 2, 3});
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        if (posix) {
            Files.setPosixFilePermissions(real, PosixFilePermissions.fromString("rw-------"));
        }
        Path link = dir.resolve("curves.png");
        Files.createSymbolicLink(link, Path.of("run-1", "curves.png"));
        Charts.curves(h, link);
        assertTrue(Files.isSymbolicLink(link), "the link is kept");
        assertTrue(ImageIO.read(real.toFile()).getWidth() > 100, "a whole PNG");
        if (posix) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(real)));
        }
        try (Stream<Path> files = Files.list(real.getParent())) {
            assertEquals(List.of(real), files.toList(), "no temporary file left");
        }
        // a picture that cannot be saved (its folder is a file): one line naming it
        Files.write(dir.resolve("plain"), new byte[0]);
        Path bad = dir.resolve("plain/confusion.png");
        IOException e = assertThrows(IOException.class, () -> Charts.curves(h, bad));
        assertTrue(e.getMessage().startsWith(bad + ": ") && !e.getMessage().contains("\n"), e.getMessage());
    }
}
