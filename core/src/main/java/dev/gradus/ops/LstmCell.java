package dev.gradus.ops;

import dev.gradus.Tensor;
import java.nio.FloatBuffer;

/**
 * One LSTM time step as one fused op forward and one backward, each a single kernel (Java on every backend, CUDA on
 * the CUDA backend): PyTorch's gate order {@code i, f, g, o}, {@code c' = f * c + i * g}, {@code h' = o * tanh(c')}.
 * Why fused: composed from tensor ops a step is 10 small ops forward and about 20 backward, each a pass over memory
 * and a dispatch; the {@code lstm} example runs 28 steps per batch.
 *
 * <p>Shapes: {@code xGates}, {@code hGates} {@code [N, 4H]} (the input's and the hidden state's shares of the gates,
 * biases added), {@code c} {@code [N, H]}; returns {@code h'} and {@code c'}, {@code [N, H]} each.
 *
 * <pre>{@code Tensor[] next = LstmCell.step(xGates, hGates, c);   // next[0] = h', next[1] = c'}</pre>
 */
public final class LstmCell {
    private LstmCell() {}

    /** {@code h'} and {@code c'} from the gates' two shares and the cell state; see the class comment. */
    public static Tensor[] step(Tensor xGates, Tensor hGates, Tensor c) {
        int hidden = c.shape().rank() == 2 ? c.shape().dim(1) : -1;
        Tensor h = Tensor.of(c.backend(), new float[] {hidden}, 1);
        Tensor both = FORWARD.apply(xGates, hGates, c, h);
        return new Tensor[] {both.narrow(1, 0, hidden), both.narrow(1, hidden, hidden)};
    }

    /**
     * {@code [N, 5H]}: the gates' gradient ({@code 4H}) then the cell state's ({@code H}) per row. Inputs: xGates,
     * hGates, c, dOut {@code [N, 2H]} (the gradients of {@code h'} and {@code c'}), and H.
     */
    static final Op BACKWARD = Op.builder("lstmCellBackward")
            .arity(5)
            .shape(shapes -> {
                int[] c = Cells.check(shapes, 4, "c");
                if (shapes[3].length != 2 || shapes[3][0] != c[0] || shapes[3][1] != 2 * c[1]) {
                    throw new IllegalArgumentException("dOut must be [N, 2H]");
                }
                return new int[] {c[0], 5 * c[1]};
            })
            .cpu(LstmCell::backward)
            .cuda(LstmCellCuda.SOURCE, "gradus_lstm_cell_backward")
            .build();

    /** {@code [N, 2H]}: {@code h'} then {@code c'} per row. Inputs: xGates, hGates, c, and H as a one-element tensor. */
    static final Op FORWARD = Op.builder("lstmCell")
            .arity(4)
            .shape(shapes -> {
                int[] c = Cells.check(shapes, 4, "c");
                return new int[] {c[0], 2 * c[1]};
            })
            .cpu(LstmCell::forward)
            .cuda(LstmCellCuda.SOURCE, "gradus_lstm_cell")
            .backward((dOut, out, in) -> {
                int hidden = in[2].shape().dim(1);
                Tensor g = BACKWARD.apply(in[0], in[1], in[2], dOut, in[3]);
                Tensor dGates = g.narrow(1, 0, 4 * hidden);
                // Both shares of the gates get the same gradient (they are added first).
                return new Tensor[] {dGates, dGates, g.narrow(1, 4 * hidden, hidden), null};
            })
            .build();

    /** The gates' activations of one row: {@code i, f, g, o} at {@code [0, H)}, ... {@code [3H, 4H)}. */
    private static void activate(float[] xg, float[] hg, float[] act, int hidden) {
        for (int k = 0; k < 4 * hidden; k++) {
            float v = xg[k] + hg[k];
            act[k] = k >= 2 * hidden && k < 3 * hidden ? (float) Math.tanh(v) : Cells.sigmoid(v);
        }
    }

    /** One row's inputs and gate activations, read by both kernels. */
    private static final class Row {
        final int hidden;
        final float[] xg;
        final float[] hg;
        final float[] act;
        final float[] c;

        Row(int hidden) {
            this.hidden = hidden;
            xg = new float[4 * hidden];
            hg = new float[4 * hidden];
            act = new float[4 * hidden];
            c = new float[hidden];
        }

        /** Reads row {@code r} of xGates, hGates and c, and activates the gates. */
        void load(FloatBuffer[] in, int r) {
            in[0].get(r * 4 * hidden, xg, 0, 4 * hidden);
            in[1].get(r * 4 * hidden, hg, 0, 4 * hidden);
            in[2].get(r * hidden, c, 0, hidden);
            activate(xg, hg, act, hidden);
        }
    }

    private static void forward(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int n = shapes[2][0];
        int hidden = shapes[2][1];
        Row x = new Row(hidden);
        float[] act = x.act;
        float[] c = x.c;
        float[] row = new float[2 * hidden];
        for (int r = 0; r < n; r++) {
            x.load(in, r);
            for (int j = 0; j < hidden; j++) {
                float c2 = act[hidden + j] * c[j] + act[j] * act[2 * hidden + j];
                row[j] = act[3 * hidden + j] * (float) Math.tanh(c2);
                row[hidden + j] = c2;
            }
            out.put(r * 2 * hidden, row, 0, 2 * hidden);
        }
    }

    private static void backward(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int n = shapes[2][0];
        int hidden = shapes[2][1];
        Row x = new Row(hidden);
        float[] act = x.act;
        float[] c = x.c;
        float[] d = new float[2 * hidden];
        float[] row = new float[5 * hidden];
        for (int r = 0; r < n; r++) {
            x.load(in, r);
            in[3].get(r * 2 * hidden, d, 0, 2 * hidden);
            for (int j = 0; j < hidden; j++) {
                float i = act[j];
                float f = act[hidden + j];
                float g = act[2 * hidden + j];
                float o = act[3 * hidden + j];
                float tc = (float) Math.tanh(f * c[j] + i * g);
                float dh = d[j];
                float dc2 = d[hidden + j] + dh * o * (1f - tc * tc);
                row[j] = dc2 * g * i * (1f - i);
                row[hidden + j] = dc2 * c[j] * f * (1f - f);
                row[2 * hidden + j] = dc2 * i * (1f - g * g);
                row[3 * hidden + j] = dh * tc * o * (1f - o);
                row[4 * hidden + j] = dc2 * f;
            }
            out.put(r * 5 * hidden, row, 0, 5 * hidden);
        }
    }
}
