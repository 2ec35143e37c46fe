package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Backends;
import org.junit.jupiter.api.Test;

class CudaProviderTest {
    @Test
    void discoveredButReportsWhyItCannotRun() {
        Backends.Info info = Backends.list().stream().filter(i -> i.name().equals("cuda")).findFirst().orElseThrow();
        assertFalse(info.available());
        assertTrue(info.reason().contains("not implemented"), info.reason());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.get("cuda"));
        assertTrue(e.getMessage().startsWith("Gradus backend 'cuda' is not usable"), e.getMessage());
    }

    @Test
    void onlyCudaOnTheClassPathMeansNoUsableBackend() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.get("cpu"));
        assertTrue(e.getMessage().contains("add the dependency dev.gradus:gradus-backend-cpu"), e.getMessage());
    }
}
