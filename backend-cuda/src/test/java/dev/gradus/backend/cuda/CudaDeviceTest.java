package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The CUDA module present but unable to run: a cuda Device says why, in the words {@code Backends.get} uses. */
class CudaDeviceTest {
    @Test
    void aCudaDeviceThatCannotRunSaysWhy() {
        Backends.Info info = Backends.list().stream()
                .filter(i -> i.name().equals("cuda"))
                .findFirst()
                .orElseThrow();
        Assumptions.assumeFalse(info.available(), "the CUDA backend is available here");
        assertFalse(Device.cuda().isAvailable());
        assertFalse(Device.of("cuda:1").isAvailable());
        String expected = "Gradus backend 'cuda' is not usable: " + info.reason();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.zeros(Device.cuda(), 3));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> Backends.of(Device.of("cuda:0")));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        e = assertThrows(
                IllegalStateException.class, () -> new Dense(Device.cuda(), 2, 3, true, Init.PYTORCH, new Rng(1)));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
    }
}
