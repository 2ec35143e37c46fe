package dev.gradus.backend.cpu;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BackendProvider;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers the CPU backend with {@link java.util.ServiceLoader}.
 *
 * <p>Threads: system property {@code gradus.threads} or environment variable {@code GRADUS_THREADS}, else every
 * available processor; OpenBLAS and the Java kernels use the same count.
 */
public final class CpuBackendProvider implements BackendProvider {
    private static final Logger LOG = LoggerFactory.getLogger(CpuBackendProvider.class);
    private static final Object LOCK = new Object();
    private static volatile CpuBackend instance;
    private static volatile Availability availability;

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public String artifact() {
        return "dev.gradus:gradus-backend-cpu";
    }

    /** Thread count from {@code gradus.threads} / {@code GRADUS_THREADS}, else all processors. */
    public static int configuredThreads() {
        String v = System.getProperty("gradus.threads");
        if (v == null || v.isBlank()) {
            v = System.getenv("GRADUS_THREADS");
        }
        if (v != null && !v.isBlank()) {
            try {
                int t = Integer.parseInt(v.trim());
                if (t > 0) {
                    return t;
                }
            } catch (NumberFormatException e) {
                // fall through to the default, with a warning
            }
            LOG.warn("gradus.threads / GRADUS_THREADS must be a positive integer, got '{}'; using all cores", v);
        }
        return Runtime.getRuntime().availableProcessors();
    }

    @Override
    public Availability availability() {
        init();
        return availability;
    }

    @Override
    public Backend backend() {
        init();
        if (instance == null) {
            throw new IllegalStateException("Gradus backend 'cpu' is not usable: " + availability.reason());
        }
        return instance;
    }

    @Override
    public Optional<Backend> started() {
        return Optional.ofNullable(instance);
    }

    /** The process-wide CPU backend, loading OpenBLAS on first use. */
    public static CpuBackend get() {
        return (CpuBackend) new CpuBackendProvider().backend();
    }

    /**
     * The backend with oneDNN convolutions, or with im2col when {@code gradus.dnnl=false} or oneDNN's natives do
     * not load (said in one log line).
     */
    private static CpuBackend withDnnl(int threads, OpenBlasInfo blas) {
        if (!Boolean.parseBoolean(System.getProperty("gradus.dnnl", "true"))) {
            return new CpuBackend(threads, blas, null, "im2col + OpenBLAS (oneDNN off: -Dgradus.dnnl=false)");
        }
        try {
            Dnnl dnnl = Dnnl.load(threads);
            return new CpuBackend(threads, blas, dnnl, "oneDNN " + dnnl.version());
        } catch (Throwable t) {
            String why = "im2col + OpenBLAS (oneDNN natives, org.bytedeco:dnnl for " + System.getProperty("os.name")
                    + "/" + System.getProperty("os.arch") + ", failed to load: " + t + ")";
            LOG.warn("Gradus cpu backend: convolution falls back to {}", why);
            return new CpuBackend(threads, blas, null, why);
        }
    }

    /**
     * A second CPU backend that never uses oneDNN (convolution through im2col and OpenBLAS, pooling and batch norm
     * in Java), for tests and benchmarks that compare it with the default one side by side.
     */
    public static CpuBackend im2colBackend() {
        init();
        return new CpuBackend(configuredThreads(), instance.openBlas(), null, "im2col + OpenBLAS (test)");
    }

    private static void init() {
        if (availability != null) {
            return;
        }
        synchronized (LOCK) {
            if (availability != null) {
                return;
            }
            int threads = configuredThreads();
            try {
                OpenBlasInfo blas = OpenBlasInfo.load(threads);
                instance = withDnnl(threads, blas);
                LOG.info(
                        "Gradus cpu backend: OpenBLAS {} kernels, {} threads, convolution: {}",
                        blas.corename(),
                        blas.threads(),
                        instance.convolutionPath());
                if (blas.warning() != null) {
                    LOG.warn(blas.warning());
                }
                availability = Availability.ok();
            } catch (Throwable t) {
                availability = Availability.unavailable("OpenBLAS natives (org.bytedeco:openblas for "
                        + System.getProperty("os.name") + "/" + System.getProperty("os.arch") + ") failed to load: "
                        + t);
            }
        }
    }
}
