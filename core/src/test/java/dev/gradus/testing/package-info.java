/**
 * Test helpers shared through core's test-jar: {@link dev.gradus.testing.NativeMemoryCheck} (fails a test that
 * leaves backend memory live; switched on for every module), {@link dev.gradus.testing.Fuzz} (seeded mutation
 * fuzzing of file readers), {@link dev.gradus.testing.ReferenceBackend} (a plain Java backend, obviously correct
 * and slow, that core's own conformance run uses and every backend's is compared with), and the small fixtures tests
 * share: {@link dev.gradus.testing.TrainSteps} (one classifier training step), {@link dev.gradus.testing.ScopePerTest}
 * (a scope around each test) and {@link dev.gradus.testing.CloseRace} (closing a tensor while another thread's op
 * reads it).
 */
package dev.gradus.testing;
