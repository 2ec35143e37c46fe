package dev.gradus.spi;

import java.util.Optional;

/**
 * Makes a {@link Backend}; found with {@link java.util.ServiceLoader}.
 *
 * <p>{@link #availability()} must never throw or crash the JVM: a provider whose natives cannot load reports why.
 */
public interface BackendProvider {

    /** Selection name, matched against {@code gradus.backend} / {@code GRADUS_BACKEND}. */
    String name();

    /** Preference when none is asked for; higher wins among available providers. */
    int priority();

    /** The Maven coordinates users add to get this provider, for error messages. */
    String artifact();

    /** Whether the backend can run here and, if not, why. */
    Availability availability();

    /** The backend instance (one per process); only called when available. */
    Backend backend();

    /**
     * The backend if this process already started it, without starting it; for memory reports and leak checks
     * that must not load natives just to look.
     */
    default Optional<Backend> started() {
        return Optional.empty();
    }

    /**
     * Whether a backend can run, and the reason when it cannot.
     *
     * @param reason names the library or symbol that failed; empty when available
     */
    record Availability(boolean available, String reason) {
        public static Availability ok() {
            return new Availability(true, "");
        }

        public static Availability unavailable(String reason) {
            return new Availability(false, reason);
        }
    }
}
