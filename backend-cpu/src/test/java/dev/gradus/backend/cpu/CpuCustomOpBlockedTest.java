package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradus.Functional;
import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.ops.Op;
import dev.gradus.ops.ShapeRule;
import dev.gradus.spi.ConvParams;
import org.junit.jupiter.api.Test;

/**
 * A user's Java kernel given a convolution's output that oneDNN left blocked ({@code nChw16c}, or {@code nChw8c}
 * under AVX2) reads it in plain row-major order: the backend converts the storage before it hands out the view.
 * Checked with the storage's layout seen blocked just before the op runs.
 */
class CpuCustomOpBlockedTest {
    private static final Op AFFINE = Op.builder("affine")
            .shape(ShapeRule.sameShapes())
            .cpu((in, shapes, out, outShape) -> {
                for (int i = 0; i < out.limit(); i++) {
                    out.put(i, 2 * in[0].get(i) + 1);
                }
            })
            .build();

    @Test
    void aJavaKernelReadsABlockedConvolutionOutputInPlainOrder() {
        CpuBackend cpu = (CpuBackend) CpuBackendProvider.get();
        assumeTrue(cpu.convolutionPath().startsWith("oneDNN"), () -> "oneDNN not loaded: " + cpu.convolutionPath());
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(cpu, RandomArrays.centred(2 * 8 * 9 * 9, 3), 2, 8, 9, 9);
            Tensor w = Tensor.of(cpu, RandomArrays.centred(32 * 8 * 9, 4), 32, 8, 3, 3);
            Tensor y = Functional.conv2d(x, w, null, new ConvParams(1, 1, 1, 1, 1, 1, 1));
            assertNotNull(CpuStorage.asStored(y.operand().storage()).layout(), "the convolution left y blocked");
            float[] got = AFFINE.apply(y).toFloatArray();
            float[] yv = y.toFloatArray();
            float[] want = new float[yv.length];
            for (int i = 0; i < yv.length; i++) {
                want[i] = 2 * yv[i] + 1;
            }
            assertArrayEquals(want, got);
        }
    }
}
