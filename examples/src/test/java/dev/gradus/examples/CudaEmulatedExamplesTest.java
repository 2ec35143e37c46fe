package dev.gradus.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.backend.cuda.CudaEmulator;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Mnist;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.spi.Backend;
import dev.gradus.train.Training;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The examples on the CUDA backend over the CUDA emulator (backend-cuda's test-jar), against the same runs on the
 * CPU: the backend's Java code and kernel sources train the real models on real MNIST to the CPU's accuracy. The
 * emulator is not a GPU (see {@link CudaEmulator}): this shows the backend computes what the CPU does; whether a GPU
 * runs it the same is for the GPU tests. Skips with the reason when the emulator cannot be built here.
 */
class CudaEmulatedExamplesTest {
    @BeforeAll
    static void emulator() {
        String problem = CudaEmulator.prepare();
        assumeTrue(problem == null, () -> "the CUDA emulator is not available: " + problem);
    }

    @AfterEach
    void restoreDefault() {
        Backends.setDefault(null);
    }

    private static Training.Result mlp(String backend, Path out) throws IOException {
        Backends.setDefault(Backends.get(backend));
        TrainOptions o = TrainOptions.defaults(1, 128, 0.01f, out.resolve(backend));
        o.data = MlpExampleTest.mnistDir();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Training.Result r = MlpCommand.train(o, 48, new PrintStream(log, true));
        System.out.print(log);
        return r;
    }

    @Test
    void theMlpExampleReachesTheCpusAccuracyOnEmulatedCuda(@TempDir Path out) throws IOException {
        Training.Result cpu = mlp("cpu", out);
        Training.Result cuda = mlp("cuda", out);
        assertEquals("cuda", cuda.backend());
        // Sums run in another order on each backend, so weights drift apart in the last bits over an epoch.
        assertEquals(
                cpu.testAccuracy(),
                cuda.testAccuracy(),
                0.003,
                "mlp after one epoch: cpu " + cpu.testAccuracy() + ", emulated cuda " + cuda.testAccuracy());
        assertEquals(
                cpu.trainLoss().get(0),
                cuda.trainLoss().get(0),
                0.01 * cpu.trainLoss().get(0));
    }

    /** A short run: its per-step losses and its accuracy on the first 1,000 test images. */
    private record Run(double[] losses, Training.Result result) {}

    /** {@code steps} steps of batch 64 from the same initialisation and data order, then evaluation. */
    private static Run convnet(String name, BiFunction<Device, Rng, Sequential> model, String backend, int steps)
            throws IOException {
        Backend b = Backends.get(backend);
        Mnist.Splits mnist = Mnist.load(MlpExampleTest.mnistDir());
        Rng rng = new Rng(7);
        DataLoader train = new DataLoader(mnist.train().subset(0, 64 * steps), 64).shuffle(rng.nextLong());
        DataLoader test = new DataLoader(mnist.test().subset(0, 1000), 500);
        double[] losses = new double[steps];
        Training.Listener perStep = new Training.Listener() {
            private double total;

            @Override
            public void onStep(int epoch, int step, int count, double meanLoss) {
                // The listener sees running means; the step's own loss is what the running total moved by.
                losses[step - 1] = meanLoss * step - total;
                total = meanLoss * step;
            }
        };
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setProperty("gradus.lossEvery", "1"); // every step's loss, on both backends
        try (Sequential m = model.apply(b.device(), rng);
                Adam opt = new Adam(m.parameters(), Adam.Config.lr(0.003f))) {
            Training.Result r = Training.fit(new Training.Config(
                    name, m, opt, null, train, test, "test", 1, b, new PrintStream(log, true), List.of(perStep)));
            System.out.print(name + " on " + backend + ":\n" + log);
            return new Run(losses, r);
        } finally {
            System.clearProperty("gradus.lossEvery");
        }
    }

    private static void sameOnBothBackends(String name, BiFunction<Device, Rng, Sequential> model, int steps)
            throws IOException {
        Run cpu = convnet(name, model, "cpu", steps);
        Run cuda = convnet(name, model, "cuda", steps);
        assertEquals("cuda", cuda.result().backend());
        // Sums run in another order on each backend; Adam turns those last-bit differences into growing ones
        // (measured: 1e-6 at step 5, about 1% by step 20). A wrong kernel shows in the first steps.
        double early = worst(cpu.losses(), cuda.losses(), 0, 5);
        double late = worst(cpu.losses(), cuda.losses(), 5, steps);
        System.out.printf(
                "%s: %d steps, largest relative loss difference %.2e in steps 1-5, %.2e after; accuracy"
                        + " cpu %.4f, emulated cuda %.4f%n",
                name,
                steps,
                early,
                late,
                cpu.result().testAccuracy(),
                cuda.result().testAccuracy());
        String both = "\ncpu  " + Arrays.toString(cpu.losses()) + "\ncuda " + Arrays.toString(cuda.losses());
        assertTrue(early < 1e-4, name + ": losses of steps 1-5 differ by up to " + early + " (relative)" + both);
        assertTrue(late < 5e-2, name + ": losses of steps 6-" + steps + " differ by up to " + late + both);
        assertEquals(
                cpu.result().testAccuracy(),
                cuda.result().testAccuracy(),
                0.01,
                name + " after " + steps + " steps: cpu " + cpu.result().testAccuracy() + ", emulated cuda "
                        + cuda.result().testAccuracy());
    }

    private static double worst(double[] a, double[] b, int from, int to) {
        double w = 0;
        for (int i = from; i < to; i++) {
            w = Math.max(w, Math.abs(a[i] - b[i]) / Math.abs(a[i]));
        }
        return w;
    }

    @Test
    void theCnnModelTrainsAsOnTheCpu() throws IOException {
        sameOnBothBackends("cnn", CnnCommand::model, 20);
    }

    @Test
    void theBnCnnModelTrainsAsOnTheCpu() throws IOException {
        sameOnBothBackends("bn-cnn", BnCnnCommand::model, 20);
    }
}
