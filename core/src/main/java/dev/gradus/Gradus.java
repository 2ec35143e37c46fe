package dev.gradus;

/**
 * Library-wide services: {@link #freeUnreachable()}, and a command-line check of what the library finds:
 * {@code java -cp ... dev.gradus.Gradus} (or {@code -m dev.gradus.core/dev.gradus.Gradus} on the module path) lists
 * each backend and whether it can run.
 */
public final class Gradus {
    private Gradus() {}

    /**
     * Runs the garbage collector and frees the native memory of tensors that became unreachable without being
     * closed or scoped (what Gradus also does by itself once they hold more than {@code gradus.maxUnscopedBytes},
     * 256 MiB or a quarter of the heap limit by default); returns how many storages it freed.
     *
     * <pre>{@code int freed = Gradus.freeUnreachable();}</pre>
     */
    public static int freeUnreachable() {
        return NativeReclaimer.collectNow();
    }

    /** Prints one line per discovered backend, then the default. */
    public static void main(String[] args) {
        Module m = Gradus.class.getModule();
        System.out.println("gradus-core on the " + (m.isNamed() ? "module path as " + m.getName() : "class path"));
        for (Backends.Info info : Backends.list()) {
            System.out.println("backend " + info.name() + ": "
                    + (info.available() ? "available" : "unavailable: " + info.reason()));
        }
        try {
            System.out.println("default " + Backends.defaultBackend().name());
        } catch (IllegalStateException e) {
            System.out.println("default none: " + e.getMessage());
        }
    }
}
