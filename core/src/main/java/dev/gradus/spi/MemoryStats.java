package dev.gradus.spi;

/**
 * A backend's memory counters.
 *
 * @param liveBytes     bytes held by storages that are in use
 * @param reservedBytes bytes held by the backend's cache of freed storages, ready for reuse
 * @param allocations   native (or device) allocations made since the backend started; flat in a steady-state
 *                      training loop
 */
public record MemoryStats(long liveBytes, long reservedBytes, long allocations) {}
