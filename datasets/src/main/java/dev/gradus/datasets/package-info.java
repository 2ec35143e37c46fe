/**
 * Data sets and loading: {@link dev.gradus.datasets.Idx} (IDX files), {@link dev.gradus.datasets.Mnist},
 * {@link dev.gradus.datasets.Dataset} (examples on the heap), {@link dev.gradus.datasets.DataLoader} (seeded
 * shuffled batches as tensors) and {@link dev.gradus.datasets.DataDirs} (where data is looked for).
 */
package dev.gradus.datasets;
