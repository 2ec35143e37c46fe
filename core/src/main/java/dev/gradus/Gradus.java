package dev.gradus;

/**
 * Command-line check of what the library finds: {@code java -cp ... dev.gradus.Gradus} (or
 * {@code -m dev.gradus.core/dev.gradus.Gradus} on the module path) lists each backend and whether it can run.
 */
public final class Gradus {
    private Gradus() {
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
