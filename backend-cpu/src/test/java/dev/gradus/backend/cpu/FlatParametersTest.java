package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.Dense;
import dev.gradus.nn.FlatParameters;
import dev.gradus.nn.Init;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Values and gradients of a model read and written as one flat array, in parameter order. */
class FlatParametersTest {
    private static Sequential model() {
        Backend cpu = CpuBackendProvider.get();
        Rng rng = new Rng(3);
        return new Sequential(
                new Dense(cpu, 5, 7, true, Init.GLOROT, rng), new ReLU(), new Dense(cpu, 7, 3, true, Init.GLOROT, rng));
    }

    @Test
    void valuesAndGradientsRoundTripInParameterOrder() {
        try (Sequential m = model()) {
            List<Parameter> ps = m.parameters();
            assertEquals(5 * 7 + 7 + 7 * 3 + 3, FlatParameters.size(ps));
            float[] v = FlatParameters.values(ps);
            int at = 0;
            for (Parameter p : ps) {
                float[] own = p.toFloatArray();
                for (int i = 0; i < own.length; i++) {
                    assertEquals(own[i], v[at + i], "parameter value at flat index " + (at + i));
                }
                at += own.length;
            }
            // No backward yet: gradients read as zeros, and cannot be written.
            assertArrayEquals(new float[v.length], FlatParameters.gradients(ps));
            assertThrows(IllegalStateException.class, () -> FlatParameters.setGradients(ps, new float[v.length]));

            try (Scope s = Scope.open()) {
                Tensor x = Tensor.randn(CpuBackendProvider.get(), new Rng(5), 4, 5);
                m.forward(x)
                        .crossEntropy(Tensor.ofInts(CpuBackendProvider.get(), new int[] {0, 1, 2, 1}, 4))
                        .backward();
            }
            float[] g = FlatParameters.gradients(ps);
            assertArrayEquals(ps.get(0).grad().toFloatArray(), Arrays.copyOf(g, 35));
            assertTrue(FlatParameters.gradients(ps)[FlatParameters.size(ps) - 1] != 0, "the last bias has a gradient");

            float[] twice = g.clone();
            for (int i = 0; i < twice.length; i++) {
                twice[i] = 2 * g[i] + i;
            }
            FlatParameters.setGradients(ps, twice);
            assertArrayEquals(twice, FlatParameters.gradients(ps));

            float[] nv = new float[v.length];
            for (int i = 0; i < nv.length; i++) {
                nv[i] = i * 0.5f - 3;
            }
            FlatParameters.setValues(ps, nv);
            assertArrayEquals(nv, FlatParameters.values(ps));
            assertTrue(ps.get(0).requiresGrad(), "setValues keeps parameters trainable");

            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> FlatParameters.setValues(ps, new float[3]));
            assertEquals("FlatParameters.setValues: 3 floats for parameters of 66 floats", e.getMessage());
        }
    }
}
