package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.MaxPool2d;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import dev.gradus.spi.UnaryOp;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Layer fusion in {@link Sequential}: a subclass of {@code Conv2d} that does not override {@code forward} is fused
 * like a {@code Conv2d} (ReLU inside the convolution), one that overrides it runs its own {@code forward}; fused or
 * not, the values are those of the layers one by one. Part of {@link BackendConformance}, so every backend runs it.
 */
interface FusionConformance extends SuiteHelpers {
    /** A user's convolution that only adds a name: fusion must not be lost. */
    class NamedConv extends Conv2d {
        NamedConv(Backend b, Rng rng) {
            super(b, Conv2d.Config.of(2, 4, 3).withPadding(1), rng);
        }

        @Override
        public String describe() {
            return "NamedConv";
        }
    }

    /** A user's convolution with its own forward (twice the output): it must run. */
    class DoubledConv extends Conv2d {
        int calls;

        DoubledConv(Backend b, Rng rng) {
            super(b, Conv2d.Config.of(2, 4, 3).withPadding(1), rng);
        }

        @Override
        public Tensor forward(Tensor x) {
            calls++;
            return super.forward(x).mul(2f);
        }
    }

    /** {@code backend} with a count of convolutions run with ReLU inside. */
    private static Backend counting(Backend backend, AtomicInteger fusedConvs) {
        return (Backend) Proxy.newProxyInstance(
                Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
                    if (m.getName().equals("conv2d") && args != null && args.length == 6 && args[5] == UnaryOp.RELU) {
                        fusedConvs.incrementAndGet();
                    }
                    try {
                        return m.invoke(backend, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    default void aSubclassThatKeepsForwardIsFusedAndOneThatOverridesItRunsItsOwn() {
        AtomicInteger fused = new AtomicInteger();
        Backend b = counting(suiteBackend(), fused);
        try (Scope s = Scope.open();
                Sequential named = new Sequential(new NamedConv(b, new Rng(1)), new ReLU(), new MaxPool2d(2));
                Sequential doubled = new Sequential(new DoubledConv(b, new Rng(1)), new ReLU(), new MaxPool2d(2))) {
            Tensor x = Tensor.of(b, random(3 * 2 * 6 * 6, -1, 1), 3, 2, 6, 6);

            Tensor y = named.forward(x);
            assertEquals(1, fused.get(), "NamedConv + ReLU should run as one convolution with ReLU inside");
            Conv2d conv = (Conv2d) named.layers().get(0);
            Tensor oneByOne = new MaxPool2d(2).forward(conv.forward(x).relu());
            assertArrayEquals(oneByOne.toFloatArray(), y.toFloatArray(), 1e-5f);

            fused.set(0);
            DoubledConv own = (DoubledConv) doubled.layers().get(0);
            Tensor z = doubled.forward(x);
            assertEquals(1, own.calls, "a forward of the user's own must run");
            assertEquals(0, fused.get(), "and must not be fused away");
            float[] want =
                    new MaxPool2d(2).forward(conv.forward(x).mul(2f).relu()).toFloatArray();
            assertArrayEquals(want, z.toFloatArray(), 1e-5f);
            assertTrue(want.length == 3 * 4 * 3 * 3);
        }
    }
}
