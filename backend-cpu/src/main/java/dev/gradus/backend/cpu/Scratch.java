package dev.gradus.backend.cpu;

/** Per-thread heap tiles that the Java kernels run on, and the tile size. */
final class Scratch {
    /** Elements per heap tile: four tiles per thread stay in L1/L2. */
    static final int TILE = 2048;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    final float[] a = new float[TILE];
    final float[] b = new float[TILE];
    final float[] c = new float[TILE];
    final float[] d = new float[TILE];
    final int[] idx = new int[TILE];

    /** The calling thread's tiles. */
    static Scratch get() {
        return SCRATCH.get();
    }
}
