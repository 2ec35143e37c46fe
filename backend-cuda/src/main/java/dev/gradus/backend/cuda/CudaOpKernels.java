package dev.gradus.backend.cuda;

import static dev.gradus.backend.cuda.CudaOperands.cuda;
import static dev.gradus.backend.cuda.CudaOperands.written;

import dev.gradus.backend.cuda.CudaLauncher.L;
import dev.gradus.spi.CudaSource;
import dev.gradus.spi.OpKernels;
import dev.gradus.spi.Operand;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.global.cudart;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ops' own CUDA kernels ({@link CudaSource}) for one backend: each source compiled with NVRTC once (and cached on
 * disk as Gradus' own kernels are, see {@link CudaModule#load}), loaded as a module of its own, its entry point kept
 * for every later launch; and the one-time note for ops that have no CUDA kernel and run their Java kernel on host
 * copies.
 */
final class CudaOpKernels {
    private static final Logger LOG = LoggerFactory.getLogger(CudaOpKernels.class);

    /**
     * Called with each source and its number of inputs before its module loads; null except under the tests' CUDA
     * emulator, which builds a host copy of the kernel there (the stand-in driver cannot run a CUBIN).
     */
    static volatile BiConsumer<CudaSource, Integer> beforeLoad;

    private final Nvrtc.Target target;
    private final ConcurrentHashMap<CudaSource, CUfunc_st> functions = new ConcurrentHashMap<>();
    private final Set<String> hostRuns = ConcurrentHashMap.newKeySet();

    CudaOpKernels(Nvrtc.Target target) {
        this.target = target;
    }

    /** The entry point of {@code k}'s CUDA source, compiled and loaded on first use. */
    CUfunc_st function(OpKernels k, int inputs) {
        return functions.computeIfAbsent(k.cuda(), src -> load(k.name(), src, inputs));
    }

    private CUfunc_st load(String op, CudaSource src, int inputs) {
        BiConsumer<CudaSource, Integer> hook = beforeLoad;
        if (hook != null) {
            hook.accept(src, inputs);
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
        CUfunc_st f = function(k, inputs.length);
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

    /** Logs once per op name that {@code op} runs its Java kernel through host copies. */
    void noteHostRun(String op) {
        if (hostRuns.add(op)) {
            LOG.info(
                    "cuda backend: op '{}' has no CUDA kernel; its Java kernel runs on host copies (a copy each way"
                            + " per call; give the Op a cuda(source, entry) to run it on the device)",
                    op);
        }
    }

    /** The ops that ran on host copies so far; for tests. */
    Set<String> hostRuns() {
        return Set.copyOf(hostRuns);
    }
}
