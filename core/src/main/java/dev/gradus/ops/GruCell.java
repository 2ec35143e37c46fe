package dev.gradus.ops;

import dev.gradus.Tensor;
import java.nio.FloatBuffer;

/**
 * One GRU time step as one fused op forward and one backward, each a single kernel (Java on every backend, CUDA on
 * the CUDA backend), with PyTorch's gate order {@code r, z, n}: {@code n = tanh(x_n + r * h_n)},
 * {@code h' = (1 - z) * n + z * h}, where the hidden share {@code h_n} includes its bias, as in PyTorch.
 *
 * <p>Shapes: {@code xGates}, {@code hGates} {@code [N, 3H]} (the input's and the hidden state's shares of the gates,
 * biases added), {@code h} {@code [N, H]}; returns {@code h'} {@code [N, H]}.
 *
 * <pre>{@code Tensor next = GruCell.step(xGates, hGates, h);}</pre>
 */
public final class GruCell {
    private GruCell() {}

    /** {@code h'} from the gates' two shares and the hidden state; see the class comment. */
    public static Tensor step(Tensor xGates, Tensor hGates, Tensor h) {
        int hidden = h.shape().rank() == 2 ? h.shape().dim(1) : -1;
        return FORWARD.apply(xGates, hGates, h, Tensor.of(h.backend(), new float[] {hidden}, 1));
    }

    /**
     * {@code [N, 7H]}: per row the gradient of xGates ({@code 3H}), of hGates ({@code 3H}), then of h ({@code H}).
     * Inputs: xGates, hGates, h, dOut {@code [N, H]}, and H as a one-element tensor.
     */
    static final Op BACKWARD = Op.builder("gruCellBackward")
            .arity(5)
            .shape(shapes -> {
                int[] h = Cells.check(shapes, 3, "h");
                if (shapes[3].length != 2 || shapes[3][0] != h[0] || shapes[3][1] != h[1]) {
                    throw new IllegalArgumentException("dOut must be [N, H]");
                }
                return new int[] {h[0], 7 * h[1]};
            })
            .cpu(GruCell::backward)
            .cuda(GruCellCuda.SOURCE, "gradus_gru_cell_backward")
            .build();

    /** {@code [N, H]}: {@code h'}. Inputs: xGates, hGates, h, and H as a one-element tensor. */
    static final Op FORWARD = Op.builder("gruCell")
            .arity(4)
            .shape(shapes -> Cells.check(shapes, 3, "h").clone())
            .cpu(GruCell::forward)
            .cuda(GruCellCuda.SOURCE, "gradus_gru_cell")
            .backward((dOut, out, in) -> {
                int hidden = in[2].shape().dim(1);
                Tensor g = BACKWARD.apply(in[0], in[1], in[2], dOut, in[3]);
                return new Tensor[] {
                    g.narrow(1, 0, 3 * hidden),
                    g.narrow(1, 3 * hidden, 3 * hidden),
                    g.narrow(1, 6 * hidden, hidden),
                    null
                };
            })
            .build();

    /** One row's inputs and gates {@code r, z, n}, read by both kernels. */
    private static final class Row {
        final int hidden;
        final float[] xg;
        final float[] hg;
        final float[] h;
        final float[] r;
        final float[] z;
        final float[] n;

        Row(int hidden) {
            this.hidden = hidden;
            xg = new float[3 * hidden];
            hg = new float[3 * hidden];
            h = new float[hidden];
            r = new float[hidden];
            z = new float[hidden];
            n = new float[hidden];
        }

        void load(FloatBuffer[] in, int row) {
            in[0].get(row * 3 * hidden, xg, 0, 3 * hidden);
            in[1].get(row * 3 * hidden, hg, 0, 3 * hidden);
            in[2].get(row * hidden, h, 0, hidden);
            for (int j = 0; j < hidden; j++) {
                r[j] = Cells.sigmoid(xg[j] + hg[j]);
                z[j] = Cells.sigmoid(xg[hidden + j] + hg[hidden + j]);
                n[j] = Cells.tanh(xg[2 * hidden + j] + r[j] * hg[2 * hidden + j]);
            }
        }
    }

    private static void forward(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int rows = shapes[2][0];
        int hidden = shapes[2][1];
        Row x = new Row(hidden);
        float[] o = new float[hidden];
        for (int row = 0; row < rows; row++) {
            x.load(in, row);
            for (int j = 0; j < hidden; j++) {
                o[j] = x.n[j] + x.z[j] * (x.h[j] - x.n[j]);
            }
            out.put(row * hidden, o, 0, hidden);
        }
    }

    private static void backward(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int rows = shapes[2][0];
        int hidden = shapes[2][1];
        Row x = new Row(hidden);
        float[] d = new float[hidden];
        float[] o = new float[7 * hidden];
        for (int row = 0; row < rows; row++) {
            x.load(in, row);
            in[3].get(row * hidden, d, 0, hidden);
            for (int j = 0; j < hidden; j++) {
                float r = x.r[j];
                float z = x.z[j];
                float n = x.n[j];
                float hn = x.hg[2 * hidden + j];
                float dnPre = d[j] * (1f - z) * (1f - n * n);
                float drPre = dnPre * hn * r * (1f - r);
                float dzPre = d[j] * (x.h[j] - n) * z * (1f - z);
                o[j] = drPre;
                o[hidden + j] = dzPre;
                o[2 * hidden + j] = dnPre;
                o[3 * hidden + j] = drPre;
                o[4 * hidden + j] = dzPre;
                o[5 * hidden + j] = dnPre * r;
                o[6 * hidden + j] = d[j] * z;
            }
            out.put(row * 7 * hidden, o, 0, 7 * hidden);
        }
    }
}
