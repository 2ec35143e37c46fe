package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaOperands.cuda;
import static dev.gradus.backend.cuda.CudaOperands.written;

import dev.gradus.backend.cuda.CudaLauncher.L;
import dev.gradus.spi.CudaSource;
import dev.gradus.spi.OpKernels;
import dev.gradus.spi.Operand;
import dev.gradus.spi.UpdateKernels;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.global.cudart;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ops' and optimizers' own CUDA kernels ({@link CudaSource}, {@link UpdateKernels}) for one backend: each source
 * compiled with NVRTC once (and cached on disk as Gradus' own kernels are, see {@link CudaModule#load}), loaded as a
 * module of its own, its entry point kept for every later launch; and the one-time note for those that have no CUDA
 * kernel and run their Java kernel on host copies.
 */
final class CudaOpKernels {
    private static final Logger LOG = LoggerFactory.getLogger(CudaOpKernels.class);

    /**
     * Called with each source and its signature before its module loads; null except under the tests' CUDA
     * emulator, which builds a host copy of the kernel there (the stand-in driver cannot run a CUBIN).
     */
    static volatile LoadHook beforeLoad;

    /** What {@link #beforeLoad} is told of a kernel's signature. */
    @FunctionalInterface
    interface LoadHook {
        /**
         * {@code source}'s entry takes {@code pairs} (float pointer, element count) pairs, then {@code scalars}
         * floats: an op's kernel {@code 1 + inputs} pairs and no scalar, an update's one pair per operand.
         */
        void accept(CudaSource source, int pairs, int scalars);
    }

    private final Nvrtc.Target target;
    private final ConcurrentHashMap<CudaSource, CUfunc_st> functions = new ConcurrentHashMap<>();
    private final Set<String> hostRuns = ConcurrentHashMap.newKeySet();

    CudaOpKernels(Nvrtc.Target target) {
        this.target = target;
    }

    /** The entry point of {@code src}, compiled and loaded on first use; the signature as {@link LoadHook}'s. */
    CUfunc_st function(String op, CudaSource src, int pairs, int scalars) {
        return functions.computeIfAbsent(src, s -> load(op, s, pairs, scalars));
    }

    private CUfunc_st load(String op, CudaSource src, int pairs, int scalars) {
        LoadHook hook = beforeLoad;
        if (hook != null) {
            hook.accept(src, pairs, scalars);
        }
        CUmod_st module = new CUmod_st();
        CudaModule.load(module, src.source(), target, "op " + op + "'s kernel " + src.entry());
        CUfunc_st f = new CUfunc_st();
        Cuda.check(
                cudart.cuModuleGetFunction(f, module, src.entry()),
                "cuModuleGetFunction " + src.entry() + " (op " + op + ")");
        return f;
    }

    /**
     * Launches {@code k}'s CUDA source one thread per output element, as {@link CudaSource} states: the output's
     * address and size, then each input's; the caller checks and pins the operands.
     */
    void launch(OpKernels k, Operand[] inputs, Operand out, CudaLauncher launcher) {
        CUfunc_st f = function(k.name(), k.cuda(), 1 + inputs.length, 0);
        long n = out.numel();
        if (n == 0) {
            return;
        }
        Object[] args = new Object[2 + 2 * inputs.length];
        args[0] = new L(written(out.storage()).at(0));
        args[1] = new L(n);
        for (int j = 0; j < inputs.length; j++) {
            Operand in = inputs[j];
            args[2 + 2 * j] = new L(cuda(in.storage()).at(in.layout().offset()));
            args[3 + 2 * j] = new L(in.numel());
        }
        long blocks = (n + CudaSource.THREADS - 1) / CudaSource.THREADS;
        launcher.launch(f, k.cuda().entry(), (int) blocks, CudaSource.THREADS, 0, args);
    }

    /**
     * Launches {@code k}'s CUDA source one thread per element, as {@link UpdateKernels} states: each updated
     * operand's address and size, then each input's, then the scalars; the caller checks and pins the operands.
     */
    void launchUpdate(
            UpdateKernels k, Operand[] updated, Operand[] inputs, float[] scalars, int n, CudaLauncher launcher) {
        int pairs = updated.length + inputs.length;
        CUfunc_st f = function(k.name(), k.cuda(), pairs, scalars.length);
        if (n == 0) {
            return;
        }
        Object[] args = new Object[2 * pairs + scalars.length];
        for (int j = 0; j < pairs; j++) {
            Operand o = j < updated.length ? updated[j] : inputs[j - updated.length];
            long at = o.layout().offset();
            args[2 * j] = new L(
                    j < updated.length
                            ? written(o.storage()).at(at)
                            : cuda(o.storage()).at(at));
            args[2 * j + 1] = new L(n);
        }
        for (int j = 0; j < scalars.length; j++) {
            args[2 * pairs + j] = scalars[j];
        }
        long blocks = (n + (long) CudaSource.THREADS - 1) / CudaSource.THREADS;
        launcher.launch(f, k.cuda().entry(), (int) blocks, CudaSource.THREADS, 0, args);
    }

    /** Logs once per op name that {@code op} runs its Java kernel through host copies. */
    void noteHostRun(String op) {
        if (hostRuns.add(op)) {
            LOG.info(
                    "cuda backend: '{}' has no CUDA kernel; its Java kernel runs on host copies (a copy each way"
                            + " per call; give it a CUDA source to run it on the device)",
                    op);
        }
    }

    /** The ops that ran on host copies so far; for tests. */
    Set<String> hostRuns() {
        return Set.copyOf(hostRuns);
    }
}
