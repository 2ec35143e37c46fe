package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradus.Functional;
import dev.gradus.Rng;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.spi.ConvParams;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The transposed convolution's three passes run on oneDNN's convolution primitives (its forward on backward-data,
 * its input gradient on forward, its weight gradient on backward-weights), in blocked layouts from 8 channels on,
 * and give what the im2col path gives. Run under {@code ONEDNN_MAX_CPU_ISA=AVX2} too (docs/layers.md).
 */
class ConvTransposeDnnlTest {
    /** n, c, k, h, w, kernel h, kernel w, stride, pad, output pad, dilation, groups; the first two of 32 channels. */
    private static final int[][] CASES = {
        {3, 32, 16, 6, 6, 4, 4, 2, 1, 0, 1, 1}, // DCGAN's upsampling block
        {2, 32, 16, 5, 7, 3, 3, 2, 1, 1, 1, 1}, // 3x3, stride 2, output padding 1: exactly twice the input
        {3, 16, 8, 7, 9, 2, 2, 2, 0, 0, 1, 1}, // U-Net's 2x2, stride 2
        {2, 16, 24, 5, 7, 3, 2, 2, 1, 1, 2, 2}, // odd sizes, output padding, dilation, groups
        {2, 3, 16, 6, 5, 3, 3, 1, 1, 0, 1, 1}, // few input channels: plain NCHW on that side
    };

    private static float[][] passes(CpuBackend be, int[] c) {
        int[] xs = {c[0], c[1], c[3], c[4]};
        int[] ws = {c[1], c[2] / c[11], c[5], c[6]};
        ConvParams p = new ConvParams(c[7], c[7], c[8], c[8], c[10], c[10], c[11]);
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.rand(be, new Rng(1), xs).sub(0.5f).requiresGrad(true);
            Tensor w = Tensor.rand(be, new Rng(2), ws).sub(0.5f).requiresGrad(true);
            Tensor b = Tensor.rand(be, new Rng(3), c[2]).requiresGrad(true);
            Tensor y = Functional.convTranspose2d(x, w, b, p, c[9], c[9]);
            Tensor g = Tensor.rand(be, new Rng(4), y.shape().dims());
            y.mul(g).sum().backward();
            return new float[][] {
                y.toFloatArray(),
                x.grad().toFloatArray(),
                w.grad().toFloatArray(),
                b.grad().toFloatArray()
            };
        }
    }

    @Test
    void transposedConvolutionsRunOnOneDnnAndMatchIm2col() {
        CpuBackend dnnl = CpuBackendProvider.get();
        Assumptions.assumeTrue(dnnl.convolutionPath().startsWith("oneDNN"), dnnl.convolutionPath());
        CpuBackend plain = CpuBackendProvider.im2colBackend();
        String[] names = {"out", "dx", "dw", "db"};
        for (int[] c : CASES) {
            int plansBefore = dnnl.dnnlConvPlans();
            float[][] want = passes(plain, c);
            float[][] got = passes(dnnl, c);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i].length, got[i].length, names[i]);
                for (int j = 0; j < want[i].length; j++) {
                    assertEquals(
                            want[i][j],
                            got[i][j],
                            1e-4 * Math.max(1, Math.abs(want[i][j])),
                            "convTranspose2d " + Arrays.toString(c) + " " + names[i] + " element " + j);
                }
            }
            if (c[1] >= 32) {
                // 16+ channels on both sides: every pass on oneDNN, on AVX-512 as on AVX2. The others may be
                // declined by oneDNN's own choice (a reference kernel for 8 channels on AVX-512, for groups with
                // dilation, for 3 channels), as an ordinary convolution of those shapes is, and run on im2col.
                assertEquals(
                        3,
                        dnnl.dnnlConvPlans() - plansBefore,
                        "convTranspose2d " + Arrays.toString(c) + ": one oneDNN primitive per pass");
            }
        }
    }
}
