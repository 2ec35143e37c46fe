package dev.gradus.optim;

/**
 * The calling thread's heap tiles for the fused optimizer steps' Java kernels: a step reads a tile of each operand,
 * updates it and writes it back, and a training step should not allocate, so each thread keeps its tiles.
 *
 * <p>Shapes: four tiles of {@link #TILE} floats.
 *
 * <pre>{@code float[][] tiles = StepTiles.get();   // tiles[0..3], each TILE long}</pre>
 */
final class StepTiles {
    /** Elements per pass of a fused kernel: four tiles per thread stay in L1/L2. */
    static final int TILE = 2048;

    private static final ThreadLocal<float[][]> TILES = ThreadLocal.withInitial(() -> new float[4][TILE]);

    private StepTiles() {}

    /** This thread's four tiles (a kernel must not call another kernel while it holds them). */
    static float[][] get() {
        return TILES.get();
    }
}
