/**
 * Evaluation and records: {@link dev.gradus.metrics.ConfusionMatrix} (accuracy, per-class accuracy, the
 * misclassified items) and {@link dev.gradus.metrics.History} (per-epoch metrics as CSV and JSON).
 */
package dev.gradus.metrics;
