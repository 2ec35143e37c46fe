package dev.gradus.spark;

import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.nn.FlatParameters;
import dev.gradus.nn.Module;
import dev.gradus.nn.Parameter;
import dev.gradus.optim.Optimizer;
import dev.gradus.spark.allreduce.AllReduce;
import java.util.List;

/**
 * One worker's share of synchronous data-parallel training, as PyTorch's {@code DistributedDataParallel}: each
 * worker runs forward and backward on its own slice of the global batch, the gradients (and the loss) are summed
 * across workers in one all-reduce and divided by the worker count, and every worker applies the same optimizer
 * step, so all keep identical parameters. Equal slices make this the gradient of the global batch's mean loss.
 *
 * <pre>{@code
 * DataParallel dp = new DataParallel(model, opt, comm);
 * dp.broadcastParameters();                       // rank 0's initial weights everywhere
 * float loss = dp.step(x, labels);                // x: [batch / workers, ...]; the global batch's mean loss
 * }</pre>
 */
public final class DataParallel {
    private final Module model;
    private final Optimizer optimizer;
    private final AllReduce comm;
    private final List<Parameter> params;
    private long allReduceNanos;

    /** Trains {@code model} with {@code optimizer}, summing gradients through {@code comm}. */
    public DataParallel(Module model, Optimizer optimizer, AllReduce comm) {
        this.model = model;
        this.optimizer = optimizer;
        this.comm = comm;
        this.params = model.parameters();
    }

    /**
     * Gives every worker rank 0's parameter values: the others contribute zeros to an all-reduce, and {@code x + 0}
     * is exactly {@code x}.
     */
    public void broadcastParameters() {
        float[] v = comm.rank() == 0 ? FlatParameters.values(params) : new float[FlatParameters.size(params)];
        comm.sum(v);
        FlatParameters.setValues(params, v);
    }

    /**
     * One step on this worker's slice {@code x} ({@code [b, ...]}) with class {@code labels} ({@code [b]}): zero
     * the gradients, forward, softmax cross-entropy, backward, all-reduce, optimizer step. Returns the mean of the
     * workers' losses (the global batch's mean loss when the slices are equal).
     */
    public float step(Tensor x, Tensor labels) {
        optimizer.zeroGrad();
        float local;
        try (Scope s = Scope.open()) {
            Tensor loss = model.forward(x).crossEntropy(labels);
            loss.backward();
            local = loss.item();
        }
        float[] g = FlatParameters.gradients(params);
        float[] buf = new float[g.length + 1];
        System.arraycopy(g, 0, buf, 0, g.length);
        buf[g.length] = local;
        long t0 = System.nanoTime();
        comm.sum(buf);
        allReduceNanos += System.nanoTime() - t0;
        float scale = 1f / comm.size();
        for (int i = 0; i < g.length; i++) {
            g[i] = buf[i] * scale;
        }
        FlatParameters.setGradients(params, g);
        optimizer.step();
        return buf[g.length] * scale;
    }

    /** Nanoseconds spent in the gradient all-reduces so far. */
    public long allReduceNanos() {
        return allReduceNanos;
    }

    /** The group this worker sums with. */
    public AllReduce comm() {
        return comm;
    }
}
