package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Backends;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Discovery and the no-GPU path: the provider is found, says why it cannot run, and nothing escapes. */
class CudaProviderTest {
    @Test
    void discoveredAndSaysWhyItCannotRunInOneLine() {
        Backends.Info info = Backends.list().stream()
                .filter(i -> i.name().equals("cuda"))
                .findFirst()
                .orElseThrow();
        Assumptions.assumeFalse(
                info.available(),
                "the CUDA backend is available here (GPU and -Dgradus.cuda.experimental=true): CudaConformanceTest covers it");
        System.out.println("cuda provider on this machine: " + info.reason());
        assertFalse(info.reason().isBlank());
        assertFalse(info.reason().contains("\n"), "one line: " + info.reason());
        CudaProbe.Result probe = CudaProbe.run();
        if (probe.usable()) {
            assertTrue(info.reason().contains(CudaBackendProvider.NOT_VERIFIED), info.reason());
        } else {
            assertTrue(info.reason().equals(probe.problem()), info.reason());
            assertTrue(info.reason().contains("CUDA") || info.reason().contains("NVIDIA"), info.reason());
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.get("cuda"));
        assertTrue(e.getMessage().startsWith("Gradus backend 'cuda' is not usable: " + info.reason()), e.getMessage());
    }

    @Test
    void onlyCudaOnTheClassPathMeansNoUsableBackend() {
        Assumptions.assumeTrue(
                Backends.list().stream().noneMatch(i -> i.name().equals("cpu")),
                "the cpu backend is on this class path (the GPU bundle carries it for the benchmarks)");
        Assumptions.assumeFalse(Backends.list().get(0).available(), "cuda is usable here");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.get("cpu"));
        assertTrue(e.getMessage().contains("add the dependency dev.gradus:gradus-backend-cpu"), e.getMessage());
        IllegalStateException d = assertThrows(IllegalStateException.class, Backends::defaultBackend);
        assertTrue(d.getMessage().startsWith("No Gradus backend can run here: cuda ("), d.getMessage());
    }
}
