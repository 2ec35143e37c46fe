package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.spi.Operand;
import dev.gradus.spi.UpdateKernels;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend runs an update (an optimizer's fused step) on views of the storages' own native memory, no
 * copies, in disjoint ranges that cover every element once; the default route
 * ({@link UpdateKernels#runOnHost}) would hand the kernel heap copies.
 */
class CpuUpdatesTest {
    @Test
    void anUpdateSeesTheStoragesOwnMemoryInRangesThatCoverItOnce() {
        CpuBackend cpu = (CpuBackend) CpuBackendProvider.get();
        int n = 3_000_001;
        List<int[]> ranges = new CopyOnWriteArrayList<>();
        List<Boolean> direct = new CopyOnWriteArrayList<>();
        UpdateKernels twice = new UpdateKernels(
                "twicePlus",
                1,
                1,
                0,
                (u, in, s, from, to) -> {
                    ranges.add(new int[] {from, to});
                    direct.add(u[0].isDirect());
                    direct.add(in[0].isDirect());
                    for (int i = from; i < to; i++) {
                        u[0].put(i, 2 * u[0].get(i) + in[0].get(i));
                    }
                },
                null);
        try (Scope s = Scope.open()) {
            Tensor p = Tensor.full(cpu, 1f, n);
            Tensor g = Tensor.full(cpu, 0.5f, n);
            cpu.runUpdate(twice, new Operand[] {p.operand()}, new Operand[] {g.operand()}, new float[0]);
            float[] got = p.toFloatArray();
            for (int i = 0; i < n; i++) {
                assertEquals(2.5f, got[i], "element " + i);
            }
            assertTrue(direct.stream().allMatch(d -> d), "the kernel saw heap copies: " + direct);
            ranges.sort((a, b) -> Integer.compare(a[0], b[0]));
            int next = 0;
            for (int[] r : ranges) {
                assertEquals(next, r[0], "ranges must tile [0, n)");
                next = r[1];
            }
            assertEquals(n, next, "ranges must tile [0, n)");
            direct.clear();
            twice.runOnHost(cpu, new Operand[] {p.operand()}, new Operand[] {g.operand()}, new float[0]);
            assertTrue(direct.stream().noneMatch(d -> d), "the default route hands copies: " + direct);
        }
    }
}
