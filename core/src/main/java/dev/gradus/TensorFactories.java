package dev.gradus;

import dev.gradus.spi.Backend;
import dev.gradus.spi.Layout;

/**
 * The ways to make a {@link Tensor} from values, a size or a random source, reached as {@code Tensor.of(...)},
 * {@code Tensor.zeros(...)} and their kin (static methods {@link Tensor} inherits), as PyTorch's factories.
 *
 * <p>Shapes: the {@code int... shape} given, outermost axis first.
 *
 * <p>Each factory that places its tensor takes a {@link Device} ({@code Tensor.zeros(Device.of("cuda"), 3)}, as
 * {@code torch.zeros(3, device="cuda")}); the forms taking a {@link Backend} are the SPI-level ones, for custom ops
 * and backends.
 *
 * <pre>{@code Tensor x = Tensor.randn(new Rng(0), 32, 784);}</pre>
 */
abstract sealed class TensorFactories extends TensorState permits Tensor {
    TensorFactories(StorageRef ref, Layout layout, DType dtype, boolean track) {
        super(ref, layout, dtype, track);
    }

    TensorFactories(Tensor source) {
        super(source);
    }

    /**
     * An uninitialised row-major tensor on {@code backend} (SPI level), for the output of a kernel a custom op calls
     * (see {@link Autograd}).
     *
     * <p>{@code Tensor.empty(x.backend(), DType.FLOAT32, 32, 10)}
     */
    public static Tensor empty(Backend backend, DType dtype, int... shape) {
        return empty(backend, Shape.of(shape), dtype);
    }

    /** A float tensor holding {@code data} in row-major order, on the default backend. */
    public static Tensor of(float[] data, int... shape) {
        return of(Backends.defaultBackend(), data, shape);
    }

    /** A float tensor holding {@code data} in row-major order on {@code backend} (SPI level; users pass a Device). */
    public static Tensor of(Backend backend, float[] data, int... shape) {
        return TensorOps.of(backend, data, shape);
    }

    /** A 1-D float tensor of {@code data}, as {@code torch.tensor([...])}: {@code Tensor.of(new float[] {1, 2})}. */
    public static Tensor of(float[] data) {
        return of(data, data.length);
    }

    /** A 1-D float tensor of {@code data} on {@code backend} (SPI level; users pass a Device). */
    public static Tensor of(Backend backend, float[] data) {
        return of(backend, data, data.length);
    }

    /** A 2-D float tensor of equal-length rows: {@code Tensor.of(new float[][] {{1, 2}, {3, 4}})} is {@code [2, 2]}. */
    public static Tensor of(float[][] rows) {
        return TensorOps.of(Backends.defaultBackend(), rows);
    }

    /** {@code [0, 1, ..., n-1]} as floats, as {@code torch.arange(n)}. */
    public static Tensor arange(int n) {
        return arange(0, n, 1);
    }

    /** {@code start, start + step, ...} below {@code end} (above, for a negative step), as {@code torch.arange}. */
    public static Tensor arange(float start, float end, float step) {
        return TensorOps.arange(Backends.defaultBackend(), start, end, step);
    }

    /** The {@code [n, n]} identity matrix. */
    public static Tensor eye(int n) {
        return TensorOps.eye(Backends.defaultBackend(), n);
    }

    /** A scalar (rank 0) float tensor. */
    public static Tensor scalar(float value) {
        return of(new float[] {value}, new int[0]);
    }

    /** An {@code INT32} tensor, e.g. class labels {@code Tensor.ofInts(new int[] {3, 1}, 2)}. */
    public static Tensor ofInts(int[] data, int... shape) {
        return ofInts(Backends.defaultBackend(), data, shape);
    }

    /** An {@code INT32} tensor on {@code backend} (SPI level; users pass a Device). */
    public static Tensor ofInts(Backend backend, int[] data, int... shape) {
        return TensorOps.ofInts(backend, data, shape);
    }

    /** A tensor of {@code value} everywhere on {@code backend} (SPI level; users pass a Device). */
    public static Tensor full(Backend backend, float value, int... shape) {
        Tensor t = empty(backend, Shape.of(shape), DType.FLOAT32);
        backend.fill(t.operand(), value);
        return t;
    }

    /** Zeros on the default backend. */
    public static Tensor zeros(int... shape) {
        return full(Backends.defaultBackend(), 0f, shape);
    }

    /** Ones on the default backend. */
    public static Tensor ones(int... shape) {
        return full(Backends.defaultBackend(), 1f, shape);
    }

    /** Zeros on {@code backend} (SPI level; users pass a Device). */
    public static Tensor zeros(Backend backend, int... shape) {
        return full(backend, 0f, shape);
    }

    /** Ones on {@code backend} (SPI level; users pass a Device). */
    public static Tensor ones(Backend backend, int... shape) {
        return full(backend, 1f, shape);
    }

    /** {@code value} everywhere, on the default backend. */
    public static Tensor full(float value, int... shape) {
        return full(Backends.defaultBackend(), value, shape);
    }

    /** Uniform samples in {@code [0, 1)} from {@code rng}, as {@code torch.rand}, on the default backend. */
    public static Tensor rand(Rng rng, int... shape) {
        return uniform(rng, 0f, 1f, shape);
    }

    /** Standard-normal samples from {@code rng}, on the default backend. */
    public static Tensor randn(Rng rng, int... shape) {
        return randn(Backends.defaultBackend(), rng, shape);
    }

    /** Standard-normal samples from {@code rng}, on {@code backend} (SPI level; users pass a Device). */
    public static Tensor randn(Backend backend, Rng rng, int... shape) {
        return TensorOps.sample(backend, () -> (float) rng.nextGaussian(), shape);
    }

    /** Uniform samples in {@code [lo, hi)} from {@code rng}, on the default backend. */
    public static Tensor uniform(Rng rng, float lo, float hi, int... shape) {
        return TensorOps.sample(Backends.defaultBackend(), () -> lo + (hi - lo) * rng.nextFloat(), shape);
    }

    /** Uniform samples in {@code [0, 1)} from {@code rng}, on {@code backend} (SPI level; users pass a Device). */
    public static Tensor rand(Backend backend, Rng rng, int... shape) {
        return TensorOps.sample(backend, rng::nextFloat, shape);
    }

    /** {@code steps} evenly spaced values from {@code start} to {@code end} inclusive, as {@code torch.linspace}, on {@code backend} (SPI level). */
    public static Tensor linspace(Backend backend, float start, float end, int steps) {
        return Selection.linspace(backend, start, end, steps);
    }

    // ------------------------------------------------------------------ on a Device (the user's handle)

    /** An uninitialised row-major tensor on {@code device}: {@code Tensor.empty(Device.cpu(), DType.FLOAT32, 2, 3)}. */
    public static Tensor empty(Device device, DType dtype, int... shape) {
        return empty(Backends.of(device), dtype, shape);
    }

    /** A float tensor holding {@code data} in row-major order on {@code device}. */
    public static Tensor of(Device device, float[] data, int... shape) {
        return of(Backends.of(device), data, shape);
    }

    /** A 1-D float tensor of {@code data} on {@code device}. */
    public static Tensor of(Device device, float[] data) {
        return of(Backends.of(device), data);
    }

    /** A 2-D float tensor of equal-length rows on {@code device}. */
    public static Tensor of(Device device, float[][] rows) {
        return TensorOps.of(Backends.of(device), rows);
    }

    /** An {@code INT32} tensor on {@code device}. */
    public static Tensor ofInts(Device device, int[] data, int... shape) {
        return ofInts(Backends.of(device), data, shape);
    }

    /** {@code value} everywhere, on {@code device}, as {@code torch.full(shape, value, device=d)}. */
    public static Tensor full(Device device, float value, int... shape) {
        return full(Backends.of(device), value, shape);
    }

    /** Zeros on {@code device}, as {@code torch.zeros(shape, device=d)}. */
    public static Tensor zeros(Device device, int... shape) {
        return zeros(Backends.of(device), shape);
    }

    /** Ones on {@code device}. */
    public static Tensor ones(Device device, int... shape) {
        return ones(Backends.of(device), shape);
    }

    /** Standard-normal samples from {@code rng}, on {@code device}. */
    public static Tensor randn(Device device, Rng rng, int... shape) {
        return randn(Backends.of(device), rng, shape);
    }

    /** Uniform samples in {@code [0, 1)} from {@code rng}, on {@code device}. */
    public static Tensor rand(Device device, Rng rng, int... shape) {
        return rand(Backends.of(device), rng, shape);
    }

    /** Uniform samples in {@code [lo, hi)} from {@code rng}, on {@code device}. */
    public static Tensor uniform(Device device, Rng rng, float lo, float hi, int... shape) {
        return TensorOps.sample(Backends.of(device), () -> lo + (hi - lo) * rng.nextFloat(), shape);
    }

    /** {@code steps} evenly spaced values from {@code start} to {@code end} inclusive, on {@code device}. */
    public static Tensor linspace(Device device, float start, float end, int steps) {
        return linspace(Backends.of(device), start, end, steps);
    }
}
