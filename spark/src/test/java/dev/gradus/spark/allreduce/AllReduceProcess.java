package dev.gradus.spark.allreduce;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One worker of {@link AllReduceProcessTest}, in its own JVM: finds the others through files in a folder, joins the
 * ring, sums each size for each round, checks every sum against a double reference and prints a checksum of its bits
 * per sum. Exit status 0, or 2 with the error's message on stderr.
 *
 * <pre>{@code java -cp ... AllReduceProcess <rank> <size> <dir> <timeoutMs> <rounds> <len,len,...>}</pre>
 */
public final class AllReduceProcess {
    private AllReduceProcess() {}

    public static void main(String[] args) throws Exception {
        int rank = Integer.parseInt(args[0]);
        int size = Integer.parseInt(args[1]);
        Path dir = Path.of(args[2]);
        Duration timeout = Duration.ofMillis(Long.parseLong(args[3]));
        int rounds = Integer.parseInt(args[4]);
        String[] lens = args[5].split(",");
        try {
            InetAddress lo = InetAddress.getLoopbackAddress();
            ServerSocket own = new ServerSocket(0, size + 1, lo);
            Path tmp = dir.resolve(rank + ".tmp");
            Files.writeString(tmp, Integer.toString(own.getLocalPort()));
            Files.move(tmp, dir.resolve(rank + ".port"), StandardCopyOption.ATOMIC_MOVE);
            List<InetSocketAddress> addresses = new ArrayList<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            for (int r = 0; r < size; r++) {
                Path f = dir.resolve(r + ".port");
                while (!Files.exists(f)) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("rank " + rank + ": rank " + r + " never wrote " + f);
                    }
                    Thread.sleep(10);
                }
                addresses.add(new InetSocketAddress(
                        lo, Integer.parseInt(Files.readString(f).trim())));
            }
            try (RingAllReduce comm = RingAllReduce.connect(rank, addresses, own, timeout)) {
                for (int round = 0; round < rounds; round++) {
                    for (String l : lens) {
                        int len = Integer.parseInt(l);
                        float[] d = RingAllReduceTest.data(rank + 31 * round, len);
                        comm.sum(d);
                        check(d, size, round, len);
                        long h = 1125899906842597L;
                        for (float v : d) {
                            h = 31 * h + Float.floatToRawIntBits(v);
                        }
                        System.out.println("round " + round + " len " + len + " checksum " + Long.toHexString(h));
                        System.out.flush();
                    }
                }
            }
            System.exit(0);
        } catch (RuntimeException e) {
            System.err.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            System.err.flush();
            System.exit(2);
        }
    }

    private static void check(float[] got, int size, int round, int len) {
        double[] want = new double[len];
        double[] mag = new double[len];
        for (int r = 0; r < size; r++) {
            float[] d = RingAllReduceTest.data(r + 31 * round, len);
            for (int i = 0; i < len; i++) {
                want[i] += d[i];
                mag[i] += Math.abs(d[i]);
            }
        }
        for (int i = 0; i < len; i++) {
            if (Math.abs(want[i] - got[i]) > 1.2e-7 * size * mag[i] + 1e-30) {
                throw new IllegalStateException("round " + round + ", " + len + " floats: element " + i + " is "
                        + got[i] + ", want " + want[i]);
            }
        }
    }
}
