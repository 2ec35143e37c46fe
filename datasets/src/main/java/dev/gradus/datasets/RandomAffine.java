package dev.gradus.datasets;

import dev.gradus.Rng;

/**
 * Random rotation, zoom and shifts with bilinear sampling, as Keras' {@code ImageDataGenerator(rotation_range,
 * zoom_range, width_shift_range, height_shift_range)}; pixels that fall outside take the nearest edge pixel
 * (Keras' default {@code fill_mode='nearest'}).
 *
 * <p>Shapes: items {@code [C, H, W]}; every channel gets the same transform. Per item: angle uniform in
 * {@code ±rotationDegrees}, zoom factors (x and y drawn independently) uniform in {@code [1 - zoom, 1 + zoom]}
 * (above 1 zooms out, as Keras), shifts uniform in {@code ±widthShift * W} and {@code ±heightShift * H} pixels.
 *
 * <pre>{@code RandomAffine aug = new RandomAffine(10, 0.1f, 0.1f, 0.1f);   // the PyTorch notebook's settings}</pre>
 */
public record RandomAffine(float rotationDegrees, float zoom, float widthShift, float heightShift)
        implements Transform {
    public RandomAffine {
        if (rotationDegrees < 0 || zoom < 0 || zoom >= 1 || widthShift < 0 || heightShift < 0) {
            throw new IllegalArgumentException("RandomAffine: invalid ranges " + rotationDegrees + ", " + zoom + ", "
                    + widthShift + ", " + heightShift);
        }
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    @Override
    public void apply(float[] data, int offset, int[] shape, Rng rng) {
        int h = shape[shape.length - 2];
        int w = shape[shape.length - 1];
        int channels = shape.length > 2 ? shape[0] : 1;
        double theta = Math.toRadians((2 * rng.nextDouble() - 1) * rotationDegrees);
        double zx = 1 + (2 * rng.nextDouble() - 1) * zoom;
        double zy = 1 + (2 * rng.nextDouble() - 1) * zoom;
        double tx = (2 * rng.nextDouble() - 1) * widthShift * w;
        double ty = (2 * rng.nextDouble() - 1) * heightShift * h;
        transform(data, offset, channels, h, w, theta, zx, zy, tx, ty);
    }

    /**
     * Applies one fixed affine map: each output pixel samples the input at
     * {@code R(theta) * diag(zx, zy) * (p - centre) + centre - (tx, ty)}.
     */
    static void transform(
            float[] data,
            int offset,
            int channels,
            int h,
            int w,
            double theta,
            double zx,
            double zy,
            double tx,
            double ty) {
        float[] src = SCRATCH.get();
        int plane = h * w;
        if (src.length < plane) {
            src = new float[plane];
            SCRATCH.set(src);
        }
        double cos = Math.cos(theta);
        double sin = Math.sin(theta);
        double cy = (h - 1) / 2.0;
        double cx = (w - 1) / 2.0;
        for (int c = 0; c < channels; c++) {
            int base = offset + c * plane;
            System.arraycopy(data, base, src, 0, plane);
            for (int y = 0; y < h; y++) {
                double dy = y - cy;
                for (int x = 0; x < w; x++) {
                    double dx = x - cx;
                    double sx = cos * zx * dx - sin * zy * dy + cx - tx;
                    double sy = sin * zx * dx + cos * zy * dy + cy - ty;
                    data[base + y * w + x] = bilinear(src, h, w, sy, sx);
                }
            }
        }
    }

    private static float bilinear(float[] img, int h, int w, double y, double x) {
        y = Math.max(0, Math.min(h - 1, y));
        x = Math.max(0, Math.min(w - 1, x));
        int y0 = (int) y;
        int x0 = (int) x;
        int y1 = Math.min(y0 + 1, h - 1);
        int x1 = Math.min(x0 + 1, w - 1);
        float fy = (float) (y - y0);
        float fx = (float) (x - x0);
        float top = img[y0 * w + x0] * (1 - fx) + img[y0 * w + x1] * fx;
        float bottom = img[y1 * w + x0] * (1 - fx) + img[y1 * w + x1] * fx;
        return top * (1 - fy) + bottom * fy;
    }
}
