package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradus.DType;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Views (transpose, reshape, slice, narrow, cat, unsqueeze, squeeze) reading the right elements and refusing bad
 * shapes, and integer tensors: labels sliced, converted to float, compared with {@code argmax}'s output, refused
 * gradients. Part of {@link BackendConformance}, so every backend runs it.
 */
interface ViewsConformance extends SuiteHelpers {
    @Test
    default void viewsShareStorageAndCopyCorrectly() {
        Tensor x = t(new float[] {0, 1, 2, 3, 4, 5}, 2, 3);
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, x.t().toFloatArray());
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, x.reshape(3, 2).toFloatArray());
        assertEquals(Shape.of(3, 2), x.reshape(-1, 2).shape());
        assertArrayEquals(new float[] {3, 4, 5}, x.slice(1, 2).toFloatArray());
        assertArrayEquals(new float[] {1, 2, 4, 5}, x.narrow(1, 1, 2).toFloatArray());
        assertArrayEquals(
                new float[] {0, 1, 2, 3, 4, 5, 0, 1, 2},
                Tensor.cat(List.of(x, x.slice(0, 1)), 0).toFloatArray());
        assertArrayEquals(
                new float[] {0, 1, 2, 0, 3, 4, 5, 3},
                Tensor.cat(List.of(x, x.narrow(1, 0, 1)), 1).toFloatArray());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, x.t().reshape(6).toFloatArray());
        assertEquals(Shape.of(2, 1, 3), x.unsqueeze(1).shape());
        assertEquals(Shape.of(2, 3), x.unsqueeze(1).squeeze(1).shape());
        assertThrows(IllegalArgumentException.class, () -> x.reshape(4, 2));
        assertThrows(IllegalArgumentException.class, () -> x.slice(1, 3));
    }

    @Test
    default void intTensorsAndDtypeConversion() {
        Tensor labels = Tensor.ofInts(suiteBackend(), new int[] {3, 0, 2, 1}, 4);
        assertEquals(DType.INT32, labels.dtype());
        assertArrayEquals(new int[] {0, 2}, labels.slice(1, 3).toIntArray());
        assertArrayEquals(new float[] {3, 0, 2, 1}, labels.toFloat().toFloatArray());
        Tensor pred = t(new float[] {0, 0, 0, 9, 5, 0, 0, 0, 0, 1, 7, 0, 0, 8, 0, 0}, 4, 4)
                .argmax(1);
        assertArrayEquals(new int[] {3, 0, 2, 1}, pred.toIntArray());
        assertEquals(4f, pred.eq(labels).sum().item());
        assertThrows(IllegalArgumentException.class, () -> labels.requiresGrad(true));
    }
}
