package dev.gradus.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Backends;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.FlatParameters;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Optimizer;
import dev.gradus.spark.allreduce.AllReduce;
import dev.gradus.spark.allreduce.Ring;
import dev.gradus.spi.Backend;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/**
 * Two workers with batch 64 each take the same steps as one worker with batch 128: the same per-step losses and
 * final parameters, up to float summation order, with SGD and with Adam; an all-reduce that drops one worker's part
 * does not.
 */
class DataParallelEquivalenceTest {
    private static final int STEPS = 60;
    private static final int BATCH = 128;
    private static final int FEATURES = 784;

    /** Global batch {@code step}: images with a learnable class (the arg-max of a fixed random projection). */
    private static float[] images(int step) {
        Rng rng = new Rng(1000 + step);
        float[] x = new float[BATCH * FEATURES];
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.nextFloat();
        }
        return x;
    }

    private static int[] labels(float[] x) {
        Rng w = new Rng(7);
        float[] proj = new float[10 * FEATURES];
        for (int i = 0; i < proj.length; i++) {
            proj[i] = (float) w.nextGaussian();
        }
        int n = x.length / FEATURES;
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < 10; c++) {
                double s = 0;
                for (int k = 0; k < FEATURES; k++) {
                    s += proj[c * FEATURES + k] * (x[i * FEATURES + k] - 0.5);
                }
                if (s > best) {
                    best = s;
                    y[i] = c;
                }
            }
        }
        return y;
    }

    private static WorkerConfig config(String optimizer, float lr, int workers) {
        return WorkerConfig.mlp(32, workers).withOptimizer(optimizer, lr);
    }

    /** A run's per-step losses and final parameters. */
    record Run(float[] losses, float[] params) {}

    /** One model, batch 128, the plain single-machine loop (no all-reduce anywhere). */
    private static Run single(String optimizer, float lr) {
        Backend cpu = Backends.defaultBackend();
        WorkerConfig c = config(optimizer, lr, 1);
        float[] losses = new float[STEPS];
        try (Sequential m = WorkerLoop.model(c, cpu, new Rng(42));
                Optimizer opt = WorkerLoop.optimizer(c, m)) {
            for (int s = 0; s < STEPS; s++) {
                float[] x = images(s);
                try (Scope sc = Scope.open()) {
                    opt.zeroGrad();
                    Tensor loss = m.forward(Tensor.of(cpu, x, BATCH, 1, 28, 28))
                            .crossEntropy(Tensor.ofInts(cpu, labels(x), BATCH));
                    loss.backward();
                    opt.step();
                    losses[s] = loss.item();
                }
            }
            return new Run(losses, FlatParameters.values(m.parameters()));
        }
    }

    /**
     * {@code workers} workers on threads, each its own model (initialised differently: rank 0's weights are
     * broadcast), worker r taking rows [r b, (r+1) b) of each global batch; {@code broken} drops rank 1's part of
     * every all-reduce.
     */
    private static List<Run> parallel(String optimizer, float lr, int workers, boolean broken) throws Exception {
        int b = BATCH / workers;
        return Ring.run(workers, 1 << 20, Duration.ofSeconds(30), ring -> {
            AllReduce comm = broken && ring.rank() == 1 ? dropping(ring) : ring;
            Backend cpu = Backends.defaultBackend();
            WorkerConfig c = config(optimizer, lr, workers);
            float[] losses = new float[STEPS];
            try (Sequential m = WorkerLoop.model(c, cpu, new Rng(42 + 1000L * ring.rank()));
                    Optimizer opt = WorkerLoop.optimizer(c, m)) {
                DataParallel dp = new DataParallel(m, opt, comm);
                dp.broadcastParameters();
                for (int s = 0; s < STEPS; s++) {
                    float[] x = images(s);
                    int[] y = labels(x);
                    float[] mine = new float[b * FEATURES];
                    System.arraycopy(x, ring.rank() * b * FEATURES, mine, 0, mine.length);
                    int[] my = Arrays.copyOfRange(y, ring.rank() * b, (ring.rank() + 1) * b);
                    try (Scope sc = Scope.open()) {
                        losses[s] = dp.step(Tensor.of(cpu, mine, b, 1, 28, 28), Tensor.ofInts(cpu, my, b));
                    }
                }
                return new Run(losses, FlatParameters.values(m.parameters()));
            }
        });
    }

    /** An all-reduce that loses this worker's contribution (sends zeros), as a bug in the exchange would. */
    private static AllReduce dropping(AllReduce inner) {
        return new AllReduce() {
            @Override
            public int rank() {
                return inner.rank();
            }

            @Override
            public int size() {
                return inner.size();
            }

            @Override
            public void sum(float[] data) {
                Arrays.fill(data, 0f);
                inner.sum(data);
            }

            @Override
            public void close() {
                inner.close();
            }
        };
    }

    /**
     * Every step's loss within {@code 1e-4} relative and every final parameter within {@code 2e-4} of the single run
     * (float sums in another order drift by a few ulps a step); and all workers hold bit-identical parameters.
     */
    private static void assertEquivalent(Run one, List<Run> many, String what) {
        assertSameLosses(one, many, what);
        assertSameParameters(one, many, what);
    }

    private static void assertSameLosses(Run one, List<Run> many, String what) {
        double worst = 0;
        for (int s = 0; s < STEPS; s++) {
            float a = one.losses()[s];
            float b = many.get(0).losses()[s];
            worst = Math.max(worst, Math.abs(a - b));
            if (!(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(a)))) {
                throw new AssertionFailedError(what + ": step " + s + " loss " + b + " vs " + a + " on one worker");
            }
        }
        System.out.printf("%s: %d steps, largest loss difference %.3g%n", what, STEPS, worst);
    }

    private static void assertSameParameters(Run one, List<Run> many, String what) {
        float[] p = one.params();
        float[] q = many.get(0).params();
        double worst = 0;
        for (int i = 0; i < p.length; i++) {
            worst = Math.max(worst, Math.abs(p[i] - q[i]));
            if (!(Math.abs(p[i] - q[i]) <= 2e-4 * Math.max(1, Math.abs(p[i])))) {
                throw new AssertionFailedError(what + ": parameter " + i + " is " + q[i] + " vs " + p[i]);
            }
        }
        System.out.printf("%s: %d parameters, largest difference %.3g%n", what, p.length, worst);
        for (int r = 1; r < many.size(); r++) {
            assertArrayEquals(q, many.get(r).params(), what + ": rank " + r + "'s parameters differ from rank 0's");
        }
    }

    @Test
    void twoWorkersOf64EqualOneOf128WithSgd() throws Exception {
        Run one = single("sgd", 0.1f);
        assertTrue(one.losses()[STEPS - 1] < one.losses()[0] - 0.1, "the model learns at all");
        assertEquivalent(one, parallel("sgd", 0.1f, 2, false), "SGD");
    }

    @Test
    void twoWorkersOf64EqualOneOf128WithAdam() throws Exception {
        Run one = single("adam", 0.001f);
        assertTrue(one.losses()[STEPS - 1] < one.losses()[0] - 0.1, "the model learns at all");
        assertEquivalent(one, parallel("adam", 0.001f, 2, false), "Adam");
    }

    @Test
    void fourWorkersOf32EqualOneOf128WithAdam() throws Exception {
        assertEquivalent(single("adam", 0.001f), parallel("adam", 0.001f, 4, false), "Adam, 4 workers");
    }

    @Test
    void anAllReduceThatDropsOneWorkersPartFailsTheComparison() throws Exception {
        for (String opt : new String[] {"sgd", "adam"}) {
            float lr = opt.equals("sgd") ? 0.1f : 0.001f;
            Run one = single(opt, lr);
            List<Run> broken = parallel(opt, lr, 2, true);
            // Caught by the losses (rank 1's loss is dropped too) and, on their own, by the final parameters.
            AssertionFailedError e =
                    assertThrows(AssertionFailedError.class, () -> assertSameLosses(one, broken, opt + ", broken"));
            System.out.println("broken all-reduce caught: " + e.getMessage());
            e = assertThrows(AssertionFailedError.class, () -> assertSameParameters(one, broken, opt + ", broken"));
            System.out.println("broken all-reduce caught: " + e.getMessage());
        }
    }
}
