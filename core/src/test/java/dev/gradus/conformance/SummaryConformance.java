package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm2d;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Dropout;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.Module;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import org.junit.jupiter.api.Test;

/**
 * {@code summary()} as Keras and torchinfo print it: every layer with its real output shape, for a model of the
 * user's own (children called through {@code forward} from a hand-written {@code forward}) as for a
 * {@link Sequential}; a summary changes nothing (modes, running statistics, the caller's scope). Part of
 * {@link BackendConformance}, so every backend runs it.
 */
interface SummaryConformance extends SuiteHelpers {
    /** A user's model: two encoders side by side, added, then a head; children held in fields, not registered. */
    final class TwoTower extends Module {
        final Dense left;
        final Dense right;
        final Dense head;

        TwoTower(Backend b, Rng rng) {
            left = new Dense(b, 784, 32, true, Init.PYTORCH, rng);
            right = new Dense(b, 784, 32, true, Init.PYTORCH, rng);
            head = new Dense(b, 32, 10, true, Init.PYTORCH, rng);
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor flat = x.reshape(x.shape().dim(0), -1);
            return head.forward(left.forward(flat).add(right.forward(flat)).relu());
        }
    }

    /** A user's leaf with a parameter of its own, with or without reporting its output. */
    final class Scale extends Module {
        final Parameter scale;
        final boolean report;

        Scale(Backend b, boolean report) {
            scale = new Parameter(Tensor.ones(b, 1));
            this.report = report;
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor y = x.mul(scale).narrow(1, 0, 3);
            return report ? traced(y) : y;
        }
    }

    /** The row of the table whose layer column starts with {@code layer}. */
    private static String row(String table, String layer) {
        for (String line : table.split("\n")) {
            if (line.startsWith(layer)) {
                return line;
            }
        }
        throw new AssertionError("no row for " + layer + " in\n" + table);
    }

    @Test
    default void summaryOfAUsersOwnModuleListsEveryLayerWithItsRealOutputShape() {
        try (TwoTower m = new TwoTower(suiteBackend(), new Rng(3))) {
            String table = m.summary(Shape.of(5, 1, 28, 28));
            assertTrue(row(table, "left Dense(784 -> 32)").contains("[5, 32]"), table);
            assertTrue(row(table, "right Dense(784 -> 32)").contains("[5, 32]"), table);
            assertTrue(row(table, "head Dense(32 -> 10)").contains("[5, 10]"), table);
            assertTrue(row(table, "head Dense(32 -> 10)").contains("330"), table);
            assertTrue(table.contains("Total params: 50,570"), table);
            assertFalse(table.contains("[5, 1, 28, 28]"), "the input shape is no layer's output:\n" + table);
            assertFalse(table.contains("?"), table);
        }
    }

    @Test
    default void summaryOfASequentialListsEveryLayerEvenWhereTheyRunFused() {
        Rng rng = new Rng(4);
        Backend b = suiteBackend();
        try (Sequential m = new Sequential(
                new Conv2d(b, Conv2d.Config.of(1, 4, 3), rng),
                new ReLU(),
                new MaxPool2d(2),
                new Flatten(),
                new Sequential(new Dense(b, 4 * 13 * 13, 7, true, Init.PYTORCH, rng), new ReLU()),
                new Dense(b, 7, 3, true, Init.PYTORCH, rng))) {
            String table = m.summary(Shape.of(2, 1, 28, 28));
            assertTrue(row(table, "0 Conv2d").contains("[2, 4, 26, 26]"), table);
            assertTrue(row(table, "1 ReLU").contains("[2, 4, 26, 26]"), table);
            assertTrue(row(table, "2 MaxPool2d").contains("[2, 4, 13, 13]"), table);
            assertTrue(row(table, "3 Flatten").contains("[2, 676]"), table);
            assertTrue(row(table, "4.0 Dense(676 -> 7)").contains("[2, 7]"), table);
            assertTrue(row(table, "4.1 ReLU").contains("[2, 7]"), table);
            assertTrue(row(table, "5 Dense(7 -> 3)").contains("[2, 3]"), table);
        }
    }

    @Test
    default void aUsersLeafIsListedWithItsShapeWhenItReportsItAndWithAQuestionMarkWhenNot() {
        Backend b = suiteBackend();
        try (Sequential reports = new Sequential(new Scale(b, true));
                Sequential silent = new Sequential(new Scale(b, false))) {
            String yes = reports.summary(Shape.of(2, 5));
            assertTrue(row(yes, "0 Scale").contains("[2, 3]"), yes);
            assertFalse(yes.contains("?"), yes);
            String no = silent.summary(Shape.of(2, 5));
            assertTrue(row(no, "0 Scale").contains("?"), no);
            assertTrue(row(no, "0 Scale").trim().endsWith("1"), "its parameter still counts:\n" + no);
            assertTrue(no.contains("traced("), no);
        }
    }

    @Test
    default void aSummaryChangesNothing() {
        Backend b = suiteBackend();
        Rng rng = new Rng(5);
        BatchNorm2d bn = new BatchNorm2d(b, BatchNorm2d.Config.of(4));
        Dropout drop = new Dropout(0.5f, new Rng(6));
        try (Sequential m = new Sequential(new Conv2d(b, Conv2d.Config.of(1, 4, 3), rng), bn, drop, new Flatten())) {
            float[] mean = bn.runningMean().toFloatArray();
            float[] var = bn.runningVar().toFloatArray();
            Tensor tracked = m.namedBuffers().get("1.num_batches_tracked");
            float batches = tracked.toFloatArray()[0];
            drop.eval();
            try (Scope s = Scope.open()) {
                int before = s.size();
                String table = m.summary(Shape.of(3, 1, 6, 6));
                assertTrue(row(table, "3 Flatten").contains("[3, 64]"), table);
                assertEquals(before, s.size(), "the summary's own tensors stay out of the caller's scope");
            }
            assertTrue(m.isTraining() && bn.isTraining(), "training mode kept");
            assertFalse(drop.isTraining(), "a layer switched to eval by the user stays in eval");
            assertArrayEquals(mean, bn.runningMean().toFloatArray());
            assertArrayEquals(var, bn.runningVar().toFloatArray());
            assertEquals(batches, tracked.toFloatArray()[0]);
        }
    }
}
