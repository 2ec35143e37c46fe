package dev.gradus.backend.cpu;

import com.sun.jna.NativeLibrary;

/**
 * Sets environment variables in this process for native libraries that read them once, when they load.
 *
 * <p>Java's own {@link System#getenv} is a copy taken at start-up, so a library loaded later sees only what libc
 * holds; {@code setenv} through JNA changes that. A value the user set wins.
 */
final class NativeEnv {
    private NativeEnv() {}

    /** Sets {@code name} unless the user set it; returns the value in force. */
    static String setDefault(String name, String value) {
        String user = System.getenv(name);
        if (user != null && !user.isBlank()) {
            return user;
        }
        try {
            int rc = NativeLibrary.getInstance("c").getFunction("setenv").invokeInt(new Object[] {name, value, 0});
            return rc == 0 ? value : "(unset: setenv failed)";
        } catch (UnsatisfiedLinkError e) {
            return "(unset: no libc: " + e.getMessage() + ")";
        }
    }
}
