package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradus.Tensor;
import dev.gradus.nn.Parameter;
import dev.gradus.optim.CosineAnnealingLR;
import dev.gradus.optim.LRScheduler;
import dev.gradus.optim.LinearLR;
import dev.gradus.optim.OneCycleLR;
import dev.gradus.optim.ReduceLROnPlateau;
import dev.gradus.optim.SGD;
import dev.gradus.optim.StepLR;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Each schedule against PyTorch's values at several steps (worked out by hand from its documented formulas). */
class SchedulesTest {
    /** The rate after 0, 1, 2, ... steps of the schedule {@code make} builds over SGD at lr 0.1. */
    private static void check(Function<SGD, LRScheduler> make, double... expected) {
        try (Tensor init = Tensor.full(CpuBackendProvider.get(), 0f, 3);
                Parameter p = new Parameter(init);
                SGD opt = new SGD(List.of(p), SGD.Config.lr(0.1f))) {
            LRScheduler s = make.apply(opt);
            for (int t = 0; t < expected.length; t++) {
                assertEquals(expected[t], opt.lr(), 1e-7, s.getClass().getSimpleName() + " after " + t + " steps");
                s.step();
            }
        }
    }

    @Test
    void stepLr() {
        check(o -> new StepLR(o, 2, 0.5f), 0.1, 0.1, 0.05, 0.05, 0.025);
    }

    @Test
    void cosineAnnealing() {
        // 0.1 * (1 + cos(pi * t / 10)) / 2: cos(0.1 pi) = 0.9510565, cos(0.2 pi) = 0.8090170
        check(o -> new CosineAnnealingLR(o, 10, 0f), 0.1, 0.09755283, 0.09045085, 0.07938926, 0.06545085, 0.05);
        check(o -> new CosineAnnealingLR(o, 2, 0.02f), 0.1, 0.06, 0.02);
    }

    @Test
    void linearWarmup() {
        // factor 0.1 -> 1 over 4 epochs, then flat
        check(o -> new LinearLR(o, 0.1f, 1f, 4), 0.01, 0.0325, 0.055, 0.0775, 0.1, 0.1);
    }

    @Test
    void oneCycle() {
        // max 0.01 over 10 steps: up for 0.3 * 10 - 1 = 2 steps from 0.01/25 = 0.0004, then down to 0.0004/1e4
        check(
                o -> new OneCycleLR(o, 0.01f, 10),
                0.0004,
                0.0052,
                0.01,
                0.009504846,
                0.008117457,
                0.00611262,
                0.00388742,
                0.001882583,
                0.000495194,
                4e-8);
    }

    @Test
    void reduceOnPlateau() {
        try (Tensor init = Tensor.full(CpuBackendProvider.get(), 0f, 3);
                Parameter p = new Parameter(init);
                SGD opt = new SGD(List.of(p), SGD.Config.lr(0.1f))) {
            ReduceLROnPlateau s = new ReduceLROnPlateau(opt, 0.5f, 1);
            double[] losses = {1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6};
            double[] lrs = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025};
            for (int i = 0; i < losses.length; i++) {
                s.step(losses[i]);
                assertEquals(lrs[i], opt.lr(), 1e-7, "after loss " + i);
            }
            assertThrows(IllegalStateException.class, s::step);
        }
    }

    @Test
    void badSettingsAreNamed() {
        try (Tensor init = Tensor.full(CpuBackendProvider.get(), 0f, 3);
                Parameter p = new Parameter(init);
                SGD opt = new SGD(List.of(p), SGD.Config.lr(0.1f))) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> new OneCycleLR(opt, 0.01f, 1));
            assertEquals(true, e.getMessage().startsWith("OneCycleLR:"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new CosineAnnealingLR(opt, 0, 0f));
            assertThrows(IllegalArgumentException.class, () -> new LinearLR(opt, 0f, 1f, 3));
        }
    }
}
