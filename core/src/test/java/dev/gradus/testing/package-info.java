/**
 * Test helpers shared through core's test-jar: {@link dev.gradus.testing.NativeMemoryCheck} (fails a test that
 * leaves backend memory live; switched on for every module) and {@link dev.gradus.testing.Fuzz} (seeded mutation
 * fuzzing of file readers).
 */
package dev.gradus.testing;
