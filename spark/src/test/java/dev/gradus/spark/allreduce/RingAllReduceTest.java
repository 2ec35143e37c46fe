package dev.gradus.spark.allreduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** The ring's sums against a double-precision reference, bit-identical on every rank; its errors, named. */
class RingAllReduceTest {
    /** Worker {@code rank}'s test data: distinct per rank and element, mixed signs and magnitudes. */
    static float[] data(int rank, int n) {
        float[] d = new float[n];
        long x = 0x9E3779B97F4A7C15L * (rank + 1);
        for (int i = 0; i < n; i++) {
            x = x * 6364136223846793005L + 1442695040888963407L;
            d[i] = (float) ((x >>> 40) / (double) (1 << 24) - 0.5) * (1 + (i % 7) * 100);
        }
        return d;
    }

    @Test
    void sumsOddAndLargeBuffersOnTwoThreeAndFourWorkers() throws Exception {
        for (int n : new int[] {1, 2, 3, 4}) {
            for (int len : new int[] {0, 1, 2, 3, 5, 1001, 65_537, 1_000_003}) {
                // A small bucket too, so a buffer crosses several buckets and a bucket holds fewer floats than
                // some chunk boundaries expect.
                for (int bucket : new int[] {RingAllReduce.DEFAULT_BUCKET, 4099}) {
                    if (bucket < n) {
                        continue;
                    }
                    List<float[]> out = Ring.run(n, bucket, Duration.ofSeconds(20), comm -> {
                        float[] d = data(comm.rank(), len);
                        comm.sum(d);
                        return d;
                    });
                    for (int r = 1; r < n; r++) {
                        assertArrayEquals(out.get(0), out.get(r), "rank " + r + " differs from rank 0, bit for bit");
                    }
                    float[] got = out.get(0);
                    double[] want = new double[len];
                    double[] size = new double[len];
                    for (int r = 0; r < n; r++) {
                        float[] d = data(r, len);
                        for (int i = 0; i < len; i++) {
                            want[i] += d[i];
                            size[i] += Math.abs(d[i]);
                        }
                    }
                    for (int i = 0; i < len; i++) {
                        // float summation of n terms: at most about n ulps of the terms' magnitude
                        double tol = 1.2e-7 * n * size[i] + 1e-30;
                        if (Math.abs(want[i] - got[i]) > tol) {
                            assertEquals(
                                    want[i],
                                    got[i],
                                    tol,
                                    n + " workers, " + len + " floats, bucket " + bucket + ", element " + i);
                        }
                    }
                }
            }
        }
    }

    @Test
    void repeatedCallsStayInStep() throws Exception {
        List<float[]> out = Ring.run(3, 1000, Duration.ofSeconds(20), comm -> {
            float[] d = new float[2501];
            for (int round = 0; round < 20; round++) {
                Arrays.fill(d, comm.rank() + round);
                comm.sum(d);
            }
            return d;
        });
        float want = 0 + 1 + 2 + 3 * 19;
        for (float[] d : out) {
            for (float v : d) {
                assertEquals(want, v);
            }
        }
    }

    @Test
    void aSilentPeerFailsWithinTheTimeoutNamingItsRankAndAddress() throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (ServerSocket mine = new ServerSocket(0, 2, lo);
                ServerSocket silent = new ServerSocket(0, 2, lo)) {
            List<InetSocketAddress> addresses = List.of(
                    new InetSocketAddress(lo, mine.getLocalPort()), new InetSocketAddress(lo, silent.getLocalPort()));
            // Rank 1 joins the ring by hand, then never sends a byte.
            Thread fake = new Thread(() -> {
                try (Socket s = new Socket(lo, mine.getLocalPort());
                        Socket in = silent.accept()) {
                    DataOutputStream o = new DataOutputStream(s.getOutputStream());
                    o.writeInt(0x47524144);
                    o.writeInt(1);
                    o.writeInt(2);
                    o.flush();
                    Thread.sleep(10_000);
                } catch (Exception ignored) {
                    // the test is over
                }
            });
            fake.setDaemon(true);
            fake.start();
            long t0 = System.nanoTime();
            try (RingAllReduce comm = RingAllReduce.connect(0, addresses, mine, Duration.ofMillis(800))) {
                AllReduceException e = assertThrows(AllReduceException.class, () -> comm.sum(new float[1000]));
                double s = (System.nanoTime() - t0) / 1e9;
                assertTrue(s < 5, "failed after " + s + " s");
                assertTrue(
                        e.getMessage().startsWith("rank 0: rank 1 at " + addresses.get(1) + " sent nothing for 800 ms"),
                        e.getMessage());
                assertTrue(e.getMessage().contains("2000 bytes"), e.getMessage());
                AllReduceException again = assertThrows(AllReduceException.class, () -> comm.sum(new float[1]));
                assertTrue(again.getMessage().contains("unusable"), again.getMessage());
            }
        }
    }

    @Test
    void workersThatDisagreeOnTheBufferSizeAreTold() {
        ExecutionException e = assertThrows(
                ExecutionException.class,
                () -> Ring.run(2, 1 << 20, Duration.ofSeconds(5), comm -> {
                    comm.sum(new float[comm.rank() == 0 ? 10 : 12]);
                    return null;
                }));
        String m = e.getCause().getMessage();
        assertTrue(m.contains("disagree on the buffer size") || m.contains("closed the connection"), m);
    }

    @Test
    void nobodyListeningIsNamed() throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        int dead;
        try (ServerSocket s = new ServerSocket(0, 1, lo)) {
            dead = s.getLocalPort();
        }
        try (ServerSocket mine = new ServerSocket(0, 2, lo)) {
            List<InetSocketAddress> addresses =
                    List.of(new InetSocketAddress(lo, mine.getLocalPort()), new InetSocketAddress(lo, dead));
            AllReduceException e = assertThrows(
                    AllReduceException.class, () -> RingAllReduce.connect(0, addresses, mine, Duration.ofMillis(500)));
            assertTrue(
                    e.getMessage().startsWith("rank 0: could not connect to rank 1 at " + addresses.get(1)),
                    e.getMessage());
        }
    }
}
