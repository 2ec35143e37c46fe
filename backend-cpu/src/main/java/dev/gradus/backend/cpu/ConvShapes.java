package dev.gradus.backend.cpu;

import dev.gradus.spi.ConvParams;

/**
 * The shapes of one convolution call, whichever pass: input {@code x [N, C, H, W]}, filter
 * {@code w [K, C/groups, R, S]}, output {@code out [N, K, P, Q]}, and its parameters.
 */
record ConvShapes(int[] x, int[] w, int[] out, ConvParams p) {}
