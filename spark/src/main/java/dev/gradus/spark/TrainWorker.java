package dev.gradus.spark;

import dev.gradus.datasets.Dataset;
import dev.gradus.spark.allreduce.RingAllReduce;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Row;
import scala.Function1;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;

/**
 * The task each worker runs in the barrier stage: reads its partition into a shard, opens a server socket, tells
 * the others its address and shard size through {@link BarrierTaskContext#allGather}, joins the ring and runs
 * {@link WorkerLoop}; every worker takes as many steps an epoch as the smallest shard allows.
 *
 * <pre>{@code rows.barrier().mapPartitions(new TrainWorker(config)).collect();}</pre>
 */
public final class TrainWorker implements FlatMapFunction<Iterator<Row>, WorkerResult> {
    private static final long serialVersionUID = 1L;

    private final WorkerConfig config;
    private final int[] itemShape;
    private final int classes;

    /** A worker for {@code config} on images of {@code itemShape} with {@code classes} classes. */
    public TrainWorker(WorkerConfig config, int[] itemShape, int classes) {
        this.config = config;
        this.itemShape = itemShape.clone();
        this.classes = classes;
    }

    @Override
    public Iterator<WorkerResult> call(Iterator<Row> rows) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        int rank = ctx.partitionId();
        int n = ctx.getTaskInfos().length;
        if (n != config.workers()) {
            throw new IllegalStateException(
                    "rank " + rank + ": the barrier stage has " + n + " tasks, the job asked for " + config.workers());
        }
        Dataset shard = Rows.toDataset("shard-" + rank, rows, itemShape, classes);
        String host = host(ctx.getTaskInfos()[rank].address());
        ServerSocket own;
        try {
            own = new ServerSocket(0, n + 1);
        } catch (IOException e) {
            throw new UncheckedIOException("rank " + rank + ": cannot open a server socket on " + host + ": " + e, e);
        }
        String[] all = ctx.allGather(host + " " + own.getLocalPort() + " " + shard.size());
        List<InetSocketAddress> addresses = new ArrayList<>();
        int smallest = Integer.MAX_VALUE;
        for (String m : all) {
            String[] p = m.split(" ");
            addresses.add(new InetSocketAddress(p[0], Integer.parseInt(p[1])));
            smallest = Math.min(smallest, Integer.parseInt(p[2]));
        }
        int steps = smallest / config.workerBatch();
        if (steps == 0) {
            throw new IllegalStateException("rank " + rank + ": the smallest shard holds " + smallest
                    + " examples, fewer than one worker batch of " + config.workerBatch());
        }
        try (RingAllReduce comm =
                RingAllReduce.connect(rank, addresses, own, Duration.ofMillis(config.timeoutMillis()))) {
            return List.of(WorkerLoop.run(config, shard, steps, comm)).iterator();
        }
    }

    /**
     * {@code rows} through {@code worker} in one barrier stage (Spark's {@code RDD.barrier()}, which the Java API
     * does not wrap): every partition's task starts together, and when one fails the stage fails.
     */
    public static JavaRDD<WorkerResult> barrierStage(JavaRDD<Row> rows, TrainWorker worker) {
        @SuppressWarnings("unchecked")
        Function1<scala.collection.Iterator<Row>, scala.collection.Iterator<WorkerResult>> f =
                (Function1<scala.collection.Iterator<Row>, scala.collection.Iterator<WorkerResult>> & Serializable)
                        it -> CollectionConverters.asScala(worker.call(CollectionConverters.asJava(it)));
        RDD<WorkerResult> out =
                rows.rdd().barrier().mapPartitions(f, false, ClassTag$.MODULE$.apply(WorkerResult.class));
        return out.toJavaRDD();
    }

    /** The host part of an executor address ({@code host:port}, or a bare host). */
    static String host(String address) {
        int colon = address.lastIndexOf(':');
        return colon > 0 ? address.substring(0, colon) : address;
    }
}
