package dev.gradus;

/**
 * Where a tensor's memory lives: a backend name and a device index.
 *
 * <p>{@code new Device("cpu", 0)}, {@code new Device("cuda", 1)}.
 */
public record Device(String type, int index) {
    @Override
    public String toString() {
        return type + ":" + index;
    }
}
