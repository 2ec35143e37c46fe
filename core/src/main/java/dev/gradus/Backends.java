package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BackendProvider;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds backends with {@link ServiceLoader} and picks the default one.
 *
 * <p>The system property {@code gradus.backend} or the environment variable {@code GRADUS_BACKEND}
 * ({@code cpu}, {@code cuda}) names the backend; otherwise the available provider with the highest priority
 * wins.
 *
 * <pre>{@code
 * Backend cpu = Backends.get("cpu");               // SPI level; users pass a Device instead
 * Backend cuda0 = Backends.of(Device.of("cuda:0"));
 * Backend best = Backends.defaultBackend();
 * }</pre>
 */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    /** Artifacts of the backends we ship, for messages when their module is absent. */
    private static final Map<String, String> KNOWN = Map.of(
            "cpu", "dev.gradus:gradus-backend-cpu",
            "cuda", "dev.gradus:gradus-backend-cuda");

    private static volatile Backend defaultBackend;

    /** Devices already resolved by {@link #of(Device)}: each provider makes one backend per process. */
    private static final Map<Device, Backend> RESOLVED = new ConcurrentHashMap<>();

    private Backends() {}

    /** A discovered provider and whether it can run here. */
    public record Info(String name, int priority, boolean available, String reason, String artifact) {}

    /** Every provider on the class path or module path, with its availability. */
    public static List<Info> list() {
        List<Info> out = new ArrayList<>();
        for (BackendProvider p : providers()) {
            BackendProvider.Availability a = safeAvailability(p);
            out.add(new Info(p.name(), p.priority(), a.available(), a.reason(), p.artifact()));
        }
        return out;
    }

    /**
     * The backends this process has started so far, without starting any; each reports its memory with
     * {@link Backend#memory()}.
     */
    public static List<Backend> started() {
        List<Backend> out = new ArrayList<>();
        for (BackendProvider p : providers()) {
            try {
                p.started().ifPresent(out::add);
            } catch (RuntimeException | LinkageError e) {
                LOG.warn("Gradus backend provider '{}' failed to report its state: {}", p.name(), e.toString());
            }
        }
        Backend d = defaultBackend;
        if (d != null && !out.contains(d)) {
            out.add(d);
        }
        return out;
    }

    /**
     * The backend named {@code name}.
     *
     * @throws IllegalStateException naming the module to add, or the reason it cannot run
     */
    public static Backend get(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (BackendProvider p : providers()) {
            if (p.name().equals(wanted)) {
                BackendProvider.Availability a = safeAvailability(p);
                if (!a.available()) {
                    throw new IllegalStateException("Gradus backend '" + wanted + "' is not usable: " + a.reason());
                }
                return p.backend();
            }
        }
        String artifact = KNOWN.get(wanted);
        throw new IllegalStateException("Gradus backend '" + wanted + "' was asked for but is not on the class path"
                + (artifact != null ? ": add the dependency " + artifact : "; known backends: " + KNOWN.keySet()));
    }

    /**
     * The backend that computes on {@code device}: the SPI object behind the user's {@link Device} handle.
     *
     * @throws IllegalStateException naming the module to add, or the reason it cannot run (as {@link #get})
     * @throws IllegalArgumentException when the backend has no device of that index
     */
    public static Backend of(Device device) {
        Backend known = RESOLVED.get(device);
        if (known != null) {
            return known;
        }
        Backend b = get(device.type());
        Device has = b.device();
        if (has.index() != device.index()) {
            throw new IllegalArgumentException(
                    "Gradus backend '" + device.type() + "' has no device " + device + "; this process uses " + has);
        }
        RESOLVED.put(device, b);
        return b;
    }

    /** Whether {@link #of(Device)} would succeed for {@code device}, without throwing. */
    static boolean available(Device device) {
        try {
            of(device);
            return true;
        } catch (IllegalStateException | IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * Checks that two tensors of op {@code op} live on the same backend instance.
     *
     * @throws IllegalArgumentException naming the op and both backends (and saying so when they are two instances
     *     of one kind, e.g. a CPU backend made apart from the default one)
     */
    public static void requireSame(String op, Backend a, Backend b) {
        if (a != b) {
            String which = a.name().equals(b.name())
                    ? "two different " + a.name() + " backend instances (one is not the default backend?)"
                    : "different backends (" + a.name() + " and " + b.name() + ")";
            throw new IllegalArgumentException(op + ": tensors on " + which + "; move one with to()");
        }
    }

    /**
     * The backend tensors use when none is given: {@code gradus.backend}, {@code GRADUS_BACKEND}, else the best
     * available.
     */
    public static Backend defaultBackend() {
        Backend b = defaultBackend;
        if (b == null) {
            synchronized (Backends.class) {
                b = defaultBackend;
                if (b == null) {
                    b = resolveDefault();
                    defaultBackend = b;
                }
            }
        }
        return b;
    }

    /** Overrides the default backend for this process (tests, benchmarks). */
    public static void setDefault(Backend backend) {
        defaultBackend = backend;
    }

    /** The backend name asked for by {@code gradus.backend} or {@code GRADUS_BACKEND}, or null. */
    public static String requestedName() {
        String p = System.getProperty("gradus.backend");
        if (p != null && !p.isBlank()) {
            return p;
        }
        String e = System.getenv("GRADUS_BACKEND");
        return e != null && !e.isBlank() ? e : null;
    }

    private static Backend resolveDefault() {
        String requested = requestedName();
        if (requested != null) {
            return get(requested);
        }
        List<BackendProvider> ps = providers();
        ps.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        List<String> skipped = new ArrayList<>();
        for (BackendProvider p : ps) {
            BackendProvider.Availability a = safeAvailability(p);
            if (a.available()) {
                if (!skipped.isEmpty()) {
                    LOG.info("Gradus uses backend '{}'; skipped {}", p.name(), String.join("; ", skipped));
                }
                return p.backend();
            }
            skipped.add(p.name() + " (" + a.reason() + ")");
        }
        throw new IllegalStateException(
                ps.isEmpty()
                        ? "No Gradus backend is on the class path: add the dependency dev.gradus:gradus-backend-cpu"
                        : "No Gradus backend can run here: " + String.join("; ", skipped));
    }

    private static List<BackendProvider> providers() {
        List<BackendProvider> out = new ArrayList<>();
        ServiceLoader<BackendProvider> loader =
                ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader());
        var it = loader.iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                out.add(it.next());
            } catch (ServiceConfigurationError | LinkageError e) {
                LOG.warn("Gradus could not load a backend provider: {}", e.toString());
            }
        }
        return out;
    }

    private static BackendProvider.Availability safeAvailability(BackendProvider p) {
        try {
            return p.availability();
        } catch (Throwable t) {
            return BackendProvider.Availability.unavailable(t.toString());
        }
    }
}
