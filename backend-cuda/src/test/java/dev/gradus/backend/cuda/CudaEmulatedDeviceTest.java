package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import dev.gradus.testing.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code Device.cuda()} on the {@link CudaEmulator}: tensors made there are on the CUDA backend, and a model moved
 * there from the reference backend computes what it did before.
 */
class CudaEmulatedDeviceTest {
    private static CudaBackend cuda;

    @BeforeAll
    static void emulator() {
        cuda = CudaEmulator.backend();
    }

    @Test
    void tensorsAndModulesOnACudaDevice() {
        assertTrue(Device.cuda().isAvailable());
        assertEquals(Device.cuda(), Device.of("cuda"));
        IllegalArgumentException bad =
                assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(Device.cuda(1), 2));
        assertTrue(bad.getMessage().contains("has no device cuda:1"), bad.getMessage());
        Backend ref = new ReferenceBackend();
        Rng rng = new Rng(5);
        try (Scope s = Scope.open();
                Sequential model = new Sequential(
                        new Dense(ref, 7, 5, true, Init.PYTORCH, rng),
                        new BatchNorm1d(ref, BatchNorm.Config.of(5)),
                        new ReLU(),
                        new Dense(ref, 5, 3, true, Init.PYTORCH, rng))) {
            Tensor z = Tensor.ones(Device.cuda(), 2, 3);
            assertSame(cuda, z.backend());
            assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1}, z.toFloatArray());
            Tensor x = Tensor.randn(ref, new Rng(9), 4, 7);
            model.eval();
            float[] before = model.forward(x).toFloatArray();
            model.to(Device.cuda());
            model.parameters().forEach(p -> assertSame(cuda, p.backend()));
            model.namedBuffers().values().forEach(b -> assertSame(cuda, b.backend()));
            assertArrayEquals(before, model.forward(x.to(Device.cuda())).toFloatArray(), 1e-5f);
        }
    }
}
