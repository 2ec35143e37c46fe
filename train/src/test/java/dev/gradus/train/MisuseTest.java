package dev.gradus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.DType;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.datasets.DataLoader;
import dev.gradus.datasets.Dataset;
import dev.gradus.datasets.TensorDataset;
import dev.gradus.nn.ClipGrad;
import dev.gradus.nn.Conv2d;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.Adam;
import dev.gradus.optim.CosineAnnealingLR;
import dev.gradus.optim.SGD;
import dev.gradus.optim.StepLR;
import dev.gradus.spi.Backend;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Misuse through the public API, as a user's code gets it wrong: closed tensors, modules and optimizers, graphs used
 * twice, shapes that do not fit, sizes past what a tensor holds, rates that are not numbers, scopes on the wrong
 * thread, loaders with no batch, tensors of two backends. Each is one unchecked exception of one short line that
 * names the op (and the shapes or the value); none is a NullPointerException, an ArrayIndexOutOfBoundsException, a
 * crash in native code or a hang; and what must be harmless (closing twice) is.
 */
class MisuseTest {
    private static final Backend CPU = CpuBackendProvider.get();

    @FunctionalInterface
    private interface Action {
        void run() throws Exception;
    }

    private record Case(String name, Action action, Class<? extends RuntimeException> type, String... says) {}

    private final List<Case> cases = new ArrayList<>();

    private void expect(String name, Class<? extends RuntimeException> type, Action action, String... says) {
        cases.add(new Case(name, action, type, says));
    }

    private static Tensor closed(int... shape) {
        Tensor t = Tensor.zeros(CPU, shape);
        t.close();
        return t;
    }

    /** What the cases made that holds memory past its scope (modules, optimizers, epochs), closed after them. */
    private final List<AutoCloseable> made = new ArrayList<>();

    private <T extends AutoCloseable> T own(T t) {
        made.add(t);
        return t;
    }

    @AfterEach
    void closeWhatWasMade() {
        for (AutoCloseable c : made) {
            try {
                c.close();
            } catch (Exception e) {
                // closed by the case itself
            }
        }
    }

    private Dense dense(int in, int out) {
        return own(new Dense(CPU, in, out, true, Init.PYTORCH, new Rng(1)));
    }

    private static final Class<IllegalArgumentException> IAE = IllegalArgumentException.class;
    private static final Class<IllegalStateException> ISE = IllegalStateException.class;
    private static final Class<RuntimeException> ANY = RuntimeException.class;

    private void tensorCases() {
        expect("op on a closed tensor", ISE, () -> closed(2, 3).add(Tensor.zeros(CPU, 2, 3)), "add", "closed");
        expect(
                "closed tensor as the other operand",
                ISE,
                () -> Tensor.zeros(CPU, 2, 3).mul(closed(2, 3)),
                "mul",
                "closed");
        expect("item of a closed tensor", ISE, () -> closed().item(), "item", "closed");
        expect("read a closed tensor", ISE, () -> closed(4).toFloatArray(), "closed");
        expect(
                "matmul with a closed tensor",
                ISE,
                () -> Tensor.zeros(CPU, 2, 3).matmul(closed(3, 4)),
                "matmul",
                "closed");
        expect(
                "backward of a closed tensor",
                ISE,
                () -> {
                    Tensor w = Tensor.ones(CPU, 3).requiresGrad(true);
                    Tensor l = w.mul(2f).sum();
                    l.close();
                    l.backward();
                },
                "backward",
                "closed");
        expect("item of a non-scalar", ISE, () -> Tensor.zeros(CPU, 2, 3).item(), "item", "[2, 3]");
        expect(
                "add of shapes that do not broadcast",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).add(Tensor.zeros(CPU, 4)),
                "add",
                "[2, 3]",
                "[4]");
        expect(
                "matmul of inner sizes that differ",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).matmul(Tensor.zeros(CPU, 4, 5)),
                "matmul",
                "[2, 3]",
                "[4, 5]");
        expect(
                "reshape to another size",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).reshape(4, 2),
                "reshape",
                "[2, 3]",
                "[4, 2]");
        expect("reshape with two -1", IAE, () -> Tensor.zeros(CPU, 2, 3).reshape(-1, -1), "reshape");
        expect("negative dimension", IAE, () -> Tensor.zeros(CPU, -1, 3), "-1");
        expect("a shape past 2^31 elements", IAE, () -> Tensor.zeros(CPU, 65536, 65536), "[65536, 65536]");
        expect("a shape whose size wraps", IAE, () -> Tensor.zeros(CPU, 65535, 65537, 641, 6700417), "65535");
        expect(
                "transpose of an axis past the rank",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).transpose(0, 5),
                "transpose",
                "5");
        expect(
                "sum over an axis past the rank",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).sum(2, false),
                "sum",
                "2");
        expect(
                "softmax over axis -3 of a matrix",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).softmax(-3),
                "softmax",
                "-3");
        expect("narrow past the end", IAE, () -> Tensor.zeros(CPU, 2, 3).narrow(1, 2, 5), "narrow", "[2, 3]");
        expect("get past the end", ANY, () -> Tensor.zeros(CPU, 2, 3).get(2, 0), "get", "index 2", "[2, 3]");
        expect("get with too few indices", IAE, () -> Tensor.zeros(CPU, 2, 3).get(1), "[2, 3]");
        expect("data that does not fill the shape", IAE, () -> Tensor.of(CPU, new float[5], 2, 3), "5", "[2, 3]");
        expect(
                "a label past the classes",
                IAE,
                () -> Tensor.zeros(CPU, 2, 10).crossEntropy(Tensor.ofInts(CPU, new int[] {3, 10}, 2)),
                "crossEntropy",
                "10");
        expect(
                "a negative label",
                IAE,
                () -> Tensor.zeros(CPU, 2, 10).crossEntropy(Tensor.ofInts(CPU, new int[] {-1, 0}, 2)),
                "crossEntropy",
                "-1");
        expect(
                "labels for another batch size",
                IAE,
                () -> Tensor.zeros(CPU, 4, 10).crossEntropy(Tensor.ofInts(CPU, new int[3], 3)),
                "crossEntropy",
                "[4, 10]",
                "[3]");
        expect(
                "gather with float indices",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).gather(1, Tensor.zeros(CPU, 2, 1)),
                "gather",
                "INT32");
        expect(
                "indexSelect past the end",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).indexSelect(0, Tensor.ofInts(CPU, new int[] {0, 2}, 2)),
                "index 2",
                "outside [0, 2)"); // names gather, which indexSelect calls: a finding, not fixed
        expect(
                "cat of shapes that differ",
                IAE,
                () -> Tensor.cat(List.of(Tensor.zeros(CPU, 2, 3), Tensor.zeros(CPU, 2, 4)), 0),
                "cat",
                "[2, 3]",
                "[2, 4]");
        expect("cat of nothing", IAE, () -> Tensor.cat(List.of(), 0), "cat");
        expect("stack of nothing", IAE, () -> Tensor.stack(List.of(), 0), "stack");
        expect("split into pieces of 0", IAE, () -> Tensor.zeros(CPU, 4).split(0, 0), "split", "0");
        expect("chunk into 0", IAE, () -> Tensor.zeros(CPU, 4).chunk(0, 0), "chunk", "0");
        expect(
                "expand to a size that does not fit",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).expand(2, 4),
                "expand",
                "[2, 3]");
        expect("permute with an axis twice", IAE, () -> Tensor.zeros(CPU, 2, 3).permute(0, 0), "permute");
        expect(
                "tensors of two backends",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).add(Tensor.zeros(CpuBackendProvider.im2colBackend(), 2, 3)),
                "add",
                "backend");
        expect(
                "backward of a non-scalar",
                ISE,
                () -> {
                    Tensor w = Tensor.ones(CPU, 3).requiresGrad(true);
                    w.mul(2f).backward();
                },
                "backward",
                "[3]");
        expect(
                "backward twice",
                ISE,
                () -> {
                    Tensor w = Tensor.ones(CPU, 3).requiresGrad(true);
                    Tensor l = w.mul(w).sum();
                    l.backward();
                    l.backward();
                },
                "backward");
        expect("backward of a constant", ANY, () -> Tensor.ones(CPU, 3).sum().backward(), "backward");
        expect(
                "backward with a seed of another shape",
                IAE,
                () -> {
                    Tensor w = Tensor.ones(CPU, 3).requiresGrad(true);
                    w.mul(2f).backward(Tensor.ones(CPU, 4));
                },
                "backward",
                "[3]",
                "[4]");
        expect(
                "requiresGrad on INT32",
                IAE,
                () -> Tensor.ofInts(CPU, new int[] {1}, 1).requiresGrad(true),
                "INT32");
        expect(
                "copyFrom another shape",
                IAE,
                () -> Tensor.zeros(CPU, 2, 3).copyFrom(Tensor.zeros(CPU, 3, 2)),
                "copyFrom",
                "[2, 3]",
                "[3, 2]");
        expect(
                "toFloatArray of an INT32 tensor read as ints",
                ANY,
                () -> Tensor.zeros(CPU, 2).toIntArray(),
                "FLOAT32");
    }

    private void moduleCases() {
        expect(
                "forward of a closed module",
                ISE,
                () -> {
                    Dense d = dense(5, 3);
                    d.close();
                    d.forward(Tensor.zeros(CPU, 2, 5));
                },
                "[3, 5]",
                "module");
        expect(
                "an optimizer closed twice",
                ISE,
                () -> {
                    SGD o = own(new SGD(
                            dense(2, 2).parameters(), SGD.Config.lr(0.1f).withMomentum(0.9f, false)));
                    o.close();
                    o.close();
                },
                "SGD",
                "already closed");
        expect(
                "a module closed twice",
                ISE,
                () -> {
                    Sequential m = new Sequential(dense(2, 2), new ReLU());
                    m.close();
                    m.close();
                },
                "Sequential",
                "already closed");
        expect(
                "Dense on inputs of another width",
                IAE,
                () -> dense(5, 3).forward(Tensor.zeros(CPU, 2, 7)),
                "Dense",
                "[2, 7]");
        expect("Dense of 0 inputs", IAE, () -> dense(0, 3), "Dense", "0");
        expect("Dense of -1 outputs", IAE, () -> dense(3, -1), "Dense", "-1");
        expect("Dense of 200000 x 200000", IAE, () -> dense(200000, 200000), "200000");
        expect("Conv2d kernel larger than the image", IAE, () -> convOn(1, 5, 0, 1, 1, 3, 3), "conv2d", "[1, 1, 3, 3]");
        expect("Conv2d on a 3-D input", IAE, () -> convOn(1, 3, 1, 1, 8, 8), "Conv2d", "[1, 8, 8]");
        expect("Conv2d of the wrong channel count", IAE, () -> convOn(3, 3, 1, 1, 1, 8, 8), "Conv2d", "[1, 1, 8, 8]");
        expect(
                "Sequential whose layers do not fit",
                IAE,
                () -> new Sequential(dense(4, 8), new ReLU(), dense(6, 2)).forward(Tensor.zeros(CPU, 2, 4)),
                "Dense",
                "[2, 8]");
    }

    /** A Conv2d(inChannels -> 2, kernel x kernel, padding), owned by the test, run on zeros of shape {@code input}. */
    private void convOn(int inChannels, int kernel, int padding, int... input) {
        Conv2d c = own(new Conv2d(
                CPU,
                new Conv2d.Config(inChannels, 2, kernel, kernel, 1, padding, 1, 1, true),
                Init.PYTORCH,
                new Rng(1)));
        c.forward(Tensor.zeros(CPU, input));
    }

    private void optimizerCases() {
        expect(
                "SGD with a NaN rate",
                IAE,
                () -> new SGD(dense(2, 2).parameters(), SGD.Config.lr(Float.NaN)),
                "SGD",
                "NaN");
        expect(
                "SGD with a negative rate",
                IAE,
                () -> new SGD(dense(2, 2).parameters(), SGD.Config.lr(-0.1f)),
                "SGD",
                "-0.1");
        expect(
                "Adam with an infinite rate",
                IAE,
                () -> new Adam(dense(2, 2).parameters(), Adam.Config.lr(Float.POSITIVE_INFINITY)),
                "Adam",
                "Infinity");
        expect(
                "SGD with an infinite rate",
                IAE,
                () -> new SGD(dense(2, 2).parameters(), SGD.Config.lr(Float.POSITIVE_INFINITY)),
                "SGD",
                "Infinity");
        expect(
                "setLr(NaN)",
                IAE,
                () -> own(new SGD(dense(2, 2).parameters(), SGD.Config.lr(0.1f)))
                        .setLr(Float.NaN),
                "NaN");
        expect("an optimizer of no parameters", IAE, () -> new SGD(List.of(), SGD.Config.lr(0.1f)), "SGD", "parameter");
        expect(
                "an optimizer over a closed parameter",
                ISE,
                () -> {
                    Dense d = dense(2, 2);
                    d.close();
                    own(new SGD(d.parameters(), SGD.Config.lr(0.1f))).step();
                },
                "closed");
        expect(
                "step after the optimizer is closed",
                ISE,
                () -> {
                    Dense d = dense(2, 2);
                    SGD s = own(new SGD(d.parameters(), SGD.Config.lr(0.1f).withMomentum(0.9f, false)));
                    s.close();
                    s.step();
                },
                "SGD",
                "closed");
        expect(
                "StepLR of step size 0",
                IAE,
                () -> new StepLR(own(new SGD(dense(2, 2).parameters(), SGD.Config.lr(0.1f))), 0, 0.5f),
                "StepLR",
                "0");
        expect(
                "CosineAnnealingLR of 0 steps",
                IAE,
                () -> new CosineAnnealingLR(own(new SGD(dense(2, 2).parameters(), SGD.Config.lr(0.1f))), 0, 0f),
                "CosineAnnealingLR",
                "0");
        expect(
                "clipGradNorm to NaN",
                IAE,
                () -> ClipGrad.clipGradNorm(dense(2, 2).parameters(), Double.NaN),
                "NaN");
        expect(
                "clipGradValue to -1",
                IAE,
                () -> ClipGrad.clipGradValue(dense(2, 2).parameters(), -1),
                "-1");
    }

    private void scopeAndLoaderCases() {
        expect(
                "a scope closed on another thread",
                ISE,
                () -> {
                    Scope s = Scope.open();
                    try {
                        CompletableFuture.runAsync(s::close).get(10, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        throw (RuntimeException) e.getCause();
                    } finally {
                        s.close();
                    }
                },
                "Scope",
                "thread");
        expect(
                "a scope closed twice",
                ISE,
                () -> {
                    Scope s = Scope.open();
                    s.close();
                    s.close();
                },
                "Scope",
                "already closed");
        expect(
                "an outer scope closed before the inner",
                ISE,
                () -> {
                    Scope outer = Scope.open();
                    Scope inner = Scope.open();
                    try {
                        outer.close();
                    } finally {
                        inner.close();
                        outer.close();
                    }
                },
                "Scope",
                "order");
        expect(
                "a tensor of a closed scope",
                ISE,
                () -> {
                    Tensor t;
                    try (Scope s = Scope.open()) {
                        t = Tensor.zeros(CPU, 2).add(1f);
                    }
                    t.item();
                },
                "closed");
        Dataset d = new Dataset("tiny", new float[8 * 4], new int[8], new int[] {4}, 2);
        expect("DataLoader of batch 0", IAE, () -> new DataLoader(d, 0), "DataLoader", "0");
        expect("DataLoader of batch -3", IAE, () -> new DataLoader(d, -3), "DataLoader", "-3");
        expect("DataLoader prefetching -1", IAE, () -> new DataLoader(d, 2).prefetch(-1), "prefetch", "-1");
        expect(
                "an epoch iterated twice",
                ISE,
                () -> {
                    DataLoader.Epoch e = own(new DataLoader(d, 4).epoch(CPU));
                    for (DataLoader.Batch b : e) {
                        b.close();
                    }
                    for (DataLoader.Batch b : e) {
                        b.close();
                    }
                },
                "epoch");
        expect(
                "labels past the classes",
                IAE,
                () -> new Dataset("bad", new float[8], new int[] {0, 5}, new int[] {4}, 2),
                "bad",
                "5");
        expect(
                "TensorDataset of 7 targets for 8 items",
                IAE,
                () -> new TensorDataset("t", new float[8], new int[] {1}, new float[7], new int[] {1}),
                "7",
                "8");
        expect(
                "Training for 0 epochs",
                IAE,
                () -> {
                    Dense m = dense(4, 2);
                    DataLoader l = new DataLoader(d, 4);
                    Training.Config.of(m, own(new SGD(m.parameters(), SGD.Config.lr(0.1f))), l, l, 0);
                },
                "epochs",
                "0");
    }

    @Test
    void eachMisuseIsOneClearUncheckedException() {
        tensorCases();
        moduleCases();
        optimizerCases();
        scopeAndLoaderCases();
        List<String> failed = new ArrayList<>();
        for (Case c : cases) {
            try (Scope s = Scope.open()) {
                c.action().run();
                failed.add(c.name() + ": no exception");
            } catch (Throwable e) {
                String m = e.getMessage();
                List<String> missing = new ArrayList<>();
                for (String say : c.says()) {
                    if (m == null || !m.contains(say)) {
                        missing.add(say);
                    }
                }
                if (!c.type().isInstance(e)
                        || e instanceof NullPointerException
                        || e instanceof ArrayIndexOutOfBoundsException
                        || e instanceof ClassCastException
                        || m == null
                        || m.contains("\n")
                        || m.length() > 500
                        || !missing.isEmpty()) {
                    failed.add(c.name() + ": " + e + (missing.isEmpty() ? "" : " (does not say " + missing + ")"));
                }
            }
        }
        System.out.println("MisuseTest: " + cases.size() + " misuses, " + (cases.size() - failed.size()) + " held");
        assertEquals(List.of(), failed, String.join("\n", failed));
    }

    /** Closing a tensor twice is harmless, as Closeable.close() asks (a scope may close what the caller closed). */
    @Test
    void closingATensorTwiceIsHarmless() {
        Tensor t = Tensor.zeros(CPU, 2);
        t.close();
        t.close();
        assertTrue(t.isClosed());
        assertEquals(DType.FLOAT32, t.dtype(), "a closed tensor still says what it was");
        assertEquals("[2]", t.shape().toString());
    }
}
