package dev.gradus.ops;

import dev.gradus.Tensor;
import java.nio.FloatBuffer;

/**
 * One LSTM time step as one fused op forward and one backward, each a single kernel (Java on every backend, CUDA on
 * the CUDA backend): PyTorch's gate order {@code i, f, g, o}, {@code c' = f * c + i * g}, {@code h' = o * tanh(c')}.
 * Why fused: composed from tensor ops a step is 10 small ops forward and about 20 backward, each a pass over memory
 * and a dispatch; the {@code lstm} example runs 28 steps per batch. The forward keeps the gates' activations beside
 * {@code h'} and {@code c'}, so the backward reads them instead of evaluating the gates again.
 *
 * <p>Shapes: {@code xGates}, {@code hGates} {@code [N, 4H]} (the input's and the hidden state's shares of the gates,
 * biases added), {@code c} {@code [N, H]}; returns {@code h'} and {@code c'}, {@code [N, H]} each.
 *
 * <pre>{@code Tensor[] next = LstmCell.step(xGates, hGates, c);   // next[0] = h', next[1] = c'}</pre>
 */
public final class LstmCell {
    private LstmCell() {}

    /** Rows the Java kernels read and write per bulk copy. */
    private static final int CHUNK = 16;

    /** {@code h'} and {@code c'} from the gates' two shares and the cell state; see the class comment. */
    public static Tensor[] step(Tensor xGates, Tensor hGates, Tensor c) {
        int hidden = c.shape().rank() == 2 ? c.shape().dim(1) : -1;
        Tensor h = Tensor.of(c.backend(), new float[] {hidden}, 1);
        Tensor all = FORWARD.apply(xGates, hGates, c, h);
        return new Tensor[] {all.narrow(1, 0, hidden), all.narrow(1, hidden, hidden)};
    }

    /**
     * {@code [N, 5H]}: the gates' gradient ({@code 4H}, before their activations) then the cell state's ({@code H})
     * per row. Inputs: the forward's output {@code [N, 6H]}, c {@code [N, H]}, the gradient of the forward's output
     * {@code [N, 6H]} (only its {@code h'} and {@code c'} columns are read: nothing outside this class sees the
     * activations), and H.
     */
    static final Op BACKWARD = Op.builder("lstmCellBackward")
            .arity(4)
            .shape(shapes -> {
                int[] c = shapes[1];
                if (c.length != 2 || shapes[3].length > 1 || shapes[3].length == 1 && shapes[3][0] != 1) {
                    throw new IllegalArgumentException("c must be [N, H] and the last input H one element");
                }
                for (int k : new int[] {0, 2}) {
                    if (shapes[k].length != 2 || shapes[k][0] != c[0] || shapes[k][1] != 6 * c[1]) {
                        throw new IllegalArgumentException("the step's output and its gradient must be [N, 6H]");
                    }
                }
                return new int[] {c[0], 5 * c[1]};
            })
            .cpu(LstmCell::backward)
            .cuda(LstmCellCuda.SOURCE, "gradus_lstm_cell_backward")
            .build();

    /**
     * {@code [N, 6H]}: {@code h'}, {@code c'}, then the activated gates {@code i, f, g, o} per row. Inputs: xGates,
     * hGates, c, and H as a one-element tensor.
     */
    static final Op FORWARD = Op.builder("lstmCell")
            .arity(4)
            .shape(shapes -> {
                int[] c = Cells.check(shapes, 4, "c");
                return new int[] {c[0], 6 * c[1]};
            })
            .cpu(LstmCell::forward)
            .cuda(LstmCellCuda.SOURCE, "gradus_lstm_cell")
            .backward((dOut, out, in) -> {
                int hidden = in[2].shape().dim(1);
                Tensor g = BACKWARD.apply(out, in[2], dOut, in[3]);
                Tensor dGates = g.narrow(1, 0, 4 * hidden);
                // Both shares of the gates get the same gradient (they are added first).
                return new Tensor[] {dGates, dGates, g.narrow(1, 4 * hidden, hidden), null};
            })
            .build();

    private static void forward(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int n = shapes[2][0];
        int hidden = shapes[2][1];
        int g4 = 4 * hidden;
        int o6 = 6 * hidden;
        float[] xg = new float[CHUNK * g4];
        float[] hg = new float[CHUNK * g4];
        float[] c = new float[CHUNK * hidden];
        float[] o = new float[CHUNK * o6];
        for (int r0 = 0; r0 < n; r0 += CHUNK) {
            int rows = Math.min(CHUNK, n - r0);
            in[0].get(r0 * g4, xg, 0, rows * g4);
            in[1].get(r0 * g4, hg, 0, rows * g4);
            in[2].get(r0 * hidden, c, 0, rows * hidden);
            for (int r = 0; r < rows; r++) {
                int gb = r * g4;
                int ob = r * o6;
                for (int k = 0; k < g4; k++) {
                    float v = xg[gb + k] + hg[gb + k];
                    o[ob + 2 * hidden + k] = k >= 2 * hidden && k < 3 * hidden ? Cells.tanh(v) : Cells.sigmoid(v);
                }
                for (int j = 0; j < hidden; j++) {
                    float i = o[ob + 2 * hidden + j];
                    float f = o[ob + 3 * hidden + j];
                    float g = o[ob + 4 * hidden + j];
                    float og = o[ob + 5 * hidden + j];
                    float c2 = f * c[r * hidden + j] + i * g;
                    o[ob + j] = og * Cells.tanh(c2);
                    o[ob + hidden + j] = c2;
                }
            }
            out.put(r0 * o6, o, 0, rows * o6);
        }
    }

    private static void backward(FloatBuffer[] in, int[][] shapes, FloatBuffer out, int[] outShape) {
        int n = shapes[1][0];
        int hidden = shapes[1][1];
        int o6 = 6 * hidden;
        int g5 = 5 * hidden;
        float[] saved = new float[CHUNK * o6];
        float[] d = new float[CHUNK * o6];
        float[] c = new float[CHUNK * hidden];
        float[] o = new float[CHUNK * g5];
        for (int r0 = 0; r0 < n; r0 += CHUNK) {
            int rows = Math.min(CHUNK, n - r0);
            in[0].get(r0 * o6, saved, 0, rows * o6);
            in[1].get(r0 * hidden, c, 0, rows * hidden);
            in[2].get(r0 * o6, d, 0, rows * o6);
            for (int r = 0; r < rows; r++) {
                int sb = r * o6;
                int ob = r * g5;
                for (int j = 0; j < hidden; j++) {
                    float i = saved[sb + 2 * hidden + j];
                    float f = saved[sb + 3 * hidden + j];
                    float g = saved[sb + 4 * hidden + j];
                    float og = saved[sb + 5 * hidden + j];
                    float tc = Cells.tanh(saved[sb + hidden + j]);
                    float dh = d[sb + j];
                    float dc2 = d[sb + hidden + j] + dh * og * (1f - tc * tc);
                    float cj = c[r * hidden + j];
                    o[ob + j] = dc2 * g * i * (1f - i);
                    o[ob + hidden + j] = dc2 * cj * f * (1f - f);
                    o[ob + 2 * hidden + j] = dc2 * i * (1f - g * g);
                    o[ob + 3 * hidden + j] = dh * tc * og * (1f - og);
                    o[ob + 4 * hidden + j] = dc2 * f;
                }
            }
            out.put(r0 * g5, o, 0, rows * g5);
        }
    }
}
