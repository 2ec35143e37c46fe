/**
 * Test helpers shared through core's test-jar: {@link dev.gradus.testing.NativeMemoryCheck} (fails a test that
 * leaves backend memory live; switched on for every module), {@link dev.gradus.testing.Fuzz} (seeded mutation
 * fuzzing of file readers) and {@link dev.gradus.testing.ReferenceBackend} (a plain Java backend, obviously correct
 * and slow, that core's own conformance run uses and every backend's is compared with).
 */
package dev.gradus.testing;
