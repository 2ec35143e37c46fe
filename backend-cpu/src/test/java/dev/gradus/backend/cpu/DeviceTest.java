package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.Backends;
import dev.gradus.DType;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.BatchNorm;
import dev.gradus.nn.BatchNorm1d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.LSTM;
import dev.gradus.nn.Module;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Recurrent;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import dev.gradus.testing.ReferenceBackend;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The user's device handle: parsing, resolving to a backend (and the errors when it cannot), tensors made on a
 * device, and {@code to(Device)} of tensors and modules moving values unchanged (from the reference backend to the
 * CPU, so the move crosses backends).
 */
class DeviceTest {
    private final Backend cpu = Backends.get("cpu");

    @Test
    void parsesAsTorchDevice() {
        assertEquals(new Device("cpu", 0), Device.of("cpu"));
        assertEquals(new Device("cuda", 0), Device.of("cuda"));
        assertEquals(new Device("cuda", 1), Device.of("cuda:1"));
        assertEquals(new Device("cuda", 12), Device.of(" CUDA:12 "));
        assertEquals(Device.cpu(), Device.of("cpu:0"));
        assertEquals(Device.cuda(), Device.cuda(0));
        assertEquals("cuda:3", Device.cuda(3).toString());
        assertEquals(Device.cuda(3), Device.of(Device.cuda(3).toString()));
    }

    @Test
    void badSpecsNameTheString() {
        for (String bad : new String[] {"", "gpu:", "cuda:x", "cuda:-1", ":0", "cuda:1:2", "cu da", "1cuda"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.of(bad), bad);
            assertTrue(e.getMessage().startsWith("Device.of: '" + bad + "'"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Device.of(null));
        assertThrows(IllegalArgumentException.class, () -> Device.cuda(-1));
        assertThrows(IllegalArgumentException.class, () -> new Device(" ", 0));
    }

    @Test
    void resolvesToTheBackend() {
        assertSame(cpu, Backends.of(Device.cpu()));
        assertEquals(Device.cpu(), cpu.device());
        assertEquals(Backends.defaultBackend().device(), Device.defaultDevice());
        assertTrue(Device.cpu().isAvailable());
    }

    @Test
    void missingCudaModuleIsNamed() {
        assertFalse(Device.cuda().isAvailable());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.zeros(Device.cuda(), 3));
        assertTrue(e.getMessage().contains("dev.gradus:gradus-backend-cuda"), e.getMessage());
        try (Tensor x = Tensor.zeros(Device.cpu(), 2)) {
            e = assertThrows(IllegalStateException.class, () -> x.to(Device.of("cuda:0")));
            assertTrue(e.getMessage().contains("not on the class path"), e.getMessage());
        }
        assertFalse(Device.of("tpu").isAvailable());
        e = assertThrows(IllegalStateException.class, () -> Backends.of(Device.of("tpu")));
        assertTrue(e.getMessage().contains("'tpu'") && e.getMessage().contains("known backends"), e.getMessage());
    }

    @Test
    void anIndexTheBackendLacksFails() {
        assertFalse(Device.of("cpu:1").isAvailable());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Tensor.ones(Device.of("cpu:1"), 2, 3));
        assertTrue(e.getMessage().contains("has no device cpu:1"), e.getMessage());
    }

    @Test
    void factoriesPlaceTensorsOnTheDevice() {
        try (Scope s = Scope.open()) {
            Device d = Device.cpu();
            Tensor[] made = {
                Tensor.zeros(d, 2, 3),
                Tensor.ones(d, 3),
                Tensor.full(d, 2.5f, 1, 2),
                Tensor.of(d, new float[] {1, 2, 3, 4, 5, 6}, 2, 3),
                Tensor.of(d, new float[] {1, 2}),
                Tensor.of(d, new float[][] {{1, 2}, {3, 4}}),
                Tensor.ofInts(d, new int[] {3, 1}, 2),
                Tensor.randn(d, new Rng(1), 5, 7),
                Tensor.rand(d, new Rng(1), 5, 7),
                Tensor.uniform(d, new Rng(1), -1f, 1f, 3),
                Tensor.linspace(d, 0f, 1f, 5),
                Tensor.empty(d, DType.FLOAT32, 4)
            };
            for (Tensor t : made) {
                assertSame(cpu, t.backend());
                assertEquals(d, t.device());
            }
            assertArrayEquals(new float[] {2.5f, 2.5f}, made[2].toFloatArray());
            assertArrayEquals(new float[] {0f, 0.25f, 0.5f, 0.75f, 1f}, made[10].toFloatArray(), 1e-6f);
            assertArrayEquals(new int[] {3, 1}, made[6].toIntArray());
            // same values as the Backend form from the same seed
            assertArrayEquals(Tensor.randn(cpu, new Rng(1), 5, 7).toFloatArray(), made[7].toFloatArray());
            float[] u = made[9].toFloatArray();
            for (float v : u) {
                assertTrue(v >= -1f && v < 1f, String.valueOf(v));
            }
        }
    }

    @Test
    void tensorToDeviceMovesValuesUnchanged() {
        Backend ref = new ReferenceBackend();
        try (Scope s = Scope.open()) {
            float[] v = new float[3 * 7];
            Rng r = new Rng(3);
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) r.nextGaussian();
            }
            Tensor x = Tensor.of(ref, v, 3, 7);
            Tensor y = x.to(Device.cpu());
            assertSame(cpu, y.backend());
            assertArrayEquals(new int[] {3, 7}, y.shape().dims());
            assertArrayEquals(v, y.toFloatArray());
            assertSame(y, y.to(Device.cpu()));
            Tensor labels = Tensor.ofInts(ref, new int[] {4, 0, 2}, 3).to(Device.cpu());
            assertEquals(DType.INT32, labels.dtype());
            assertArrayEquals(new int[] {4, 0, 2}, labels.toIntArray());
        }
    }

    @Test
    void moduleToDeviceMovesParametersBuffersAndFieldsInPlace() {
        Backend ref = new ReferenceBackend();
        Rng rng = new Rng(7);
        try (Scope outer = Scope.open(); // the move inside a scope: the new tensors are the module's, not its
                Sequential model = new Sequential(
                        new Dense(ref, 5, 9, true, Init.PYTORCH, rng),
                        new BatchNorm1d(ref, BatchNorm.Config.of(9)),
                        new ReLU(),
                        new Dense(ref, 9, 3, true, Init.PYTORCH, rng));
                LSTM lstm = new LSTM(ref, Recurrent.Config.of(3, 4).withBatchFirst(), rng)) {
            Tensor input = Tensor.randn(ref, new Rng(11), 6, 5);
            Tensor seq = Tensor.randn(ref, new Rng(12), 2, 3, 3);
            model.train();
            model.forward(input).close(); // running statistics away from their initial values
            model.eval();
            ((Dense) model.children().get("3")).bias().requiresGrad(false); // frozen stays frozen
            float[] before = model.forward(input).toFloatArray();
            float[] lstmBefore = lstm.forward(seq).toFloatArray();
            Map<String, float[]> params = values(model);
            Map<String, Parameter> oldParams = new LinkedHashMap<>(model.namedParameters());

            Module same = model.to(Device.cpu());
            assertSame(model, same);
            assertSame(lstm, lstm.to(Device.cpu()));

            model.namedParameters().forEach((k, p) -> {
                assertSame(cpu, p.backend(), k);
                assertEquals(!k.equals("3.bias"), p.requiresGrad(), k);
                assertNotSame(oldParams.get(k), p, k);
                assertArrayEquals(params.get(k), p.toFloatArray(), k);
            });
            model.namedBuffers().forEach((k, b) -> {
                assertSame(cpu, b.backend(), k);
                assertArrayEquals(params.get(k), b.toFloatArray(), k);
            });
            lstm.parameters().forEach(p -> assertSame(cpu, p.backend()));
            // the fields the layers compute with (Dense.weight, BatchNorm's buffers, LSTM's cells) moved too
            Dense first = (Dense) model.children().get("0");
            assertSame(model.namedParameters().get("0.weight"), first.weight());
            assertArrayEquals(before, model.forward(input.to(Device.cpu())).toFloatArray(), 1e-5f);
            assertArrayEquals(lstmBefore, lstm.forward(seq.to(Device.cpu())).toFloatArray(), 1e-5f);
            input.close();
            seq.close();

            // a second move is a no-op
            Map<String, Parameter> now = new LinkedHashMap<>(model.namedParameters());
            model.to(Device.cpu());
            now.forEach((k, p) -> assertSame(p, model.namedParameters().get(k), k));
        }
    }

    @Test
    void moduleToAMissingDeviceFailsBeforeMovingAnything() {
        try (Dense d = new Dense(cpu, 2, 3, true, Init.PYTORCH, new Rng(1))) {
            Parameter w = d.weight();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.to(Device.cuda()));
            assertTrue(e.getMessage().contains("dev.gradus:gradus-backend-cuda"), e.getMessage());
            assertSame(w, d.weight());
        }
    }

    private static Map<String, float[]> values(Module m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.namedParameters().forEach((k, p) -> out.put(k, p.toFloatArray()));
        m.namedBuffers().forEach((k, b) -> out.put(k, b.toFloatArray()));
        return out;
    }
}
