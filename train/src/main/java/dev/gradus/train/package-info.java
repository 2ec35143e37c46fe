/**
 * Training helpers on top of core and datasets: {@link dev.gradus.train.Training} (the fit loop with its table,
 * progress line, NaN stop, history and listeners; the report files), {@link dev.gradus.train.Evaluation}
 * (predictions, loss and accuracy over a loader), {@link dev.gradus.train.MemoryReport} (native, resident and
 * heap memory per epoch, flat or growing) and {@link dev.gradus.train.Charts} (PNG curves, confusion heat maps,
 * labelled image grids through XChart).
 */
package dev.gradus.train;
