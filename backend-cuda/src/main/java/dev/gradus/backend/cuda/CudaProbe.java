package dev.gradus.backend.cuda;

import org.bytedeco.cuda.global.cudart;

/**
 * Asks the CUDA runtime, through the JavaCPP wrappers, whether a driver and a device are there.
 *
 * <p>Only functions that CUDA 13.0 has are called: the 13.1 wrappers load against 13.0 libraries, and calling a
 * 13.1-only symbol would end the JVM rather than throw.
 */
final class CudaProbe {
    /** What the probe found: {@code problem} is null when a device answered. */
    record Result(String problem, int devices, int driverVersion, int runtimeVersion) {
        boolean usable() {
            return problem == null;
        }

        String summary() {
            return devices + " CUDA device(s), driver " + version(driverVersion) + ", runtime "
                    + version(runtimeVersion);
        }
    }

    private CudaProbe() {}

    private static volatile Result result;

    /** The probe's result, computed once per process (a failed native load cannot be retried anyway). */
    static Result run() {
        Result r = result;
        if (r == null) {
            synchronized (CudaProbe.class) {
                r = result;
                if (r == null) {
                    r = probe();
                    result = r;
                }
            }
        }
        return r;
    }

    private static Result probe() {
        try {
            Class.forName("org.bytedeco.cuda.global.cudart", true, CudaProbe.class.getClassLoader());
        } catch (Throwable t) {
            String why = rootMessage(t);
            if (why.contains("libcuda.so")) {
                return new Result("no NVIDIA driver: libcuda.so.1 was not found (" + why + ")", 0, 0, 0);
            }
            return new Result(
                    "the CUDA 13 runtime (libcudart.so.13 and JavaCPP's libjnicudart) could not be loaded: " + why
                            + "; install CUDA 13 and put its lib64 folder on LD_LIBRARY_PATH",
                    0,
                    0,
                    0);
        }
        try {
            int[] runtime = {0};
            cudart.cudaRuntimeGetVersion(runtime);
            int[] driver = {0};
            int err = cudart.cudaDriverGetVersion(driver);
            if (err != 0 || driver[0] == 0) {
                return new Result(
                        "no NVIDIA driver found (" + errorName(err) + "); CUDA runtime " + version(runtime[0])
                                + " loaded",
                        0,
                        0,
                        runtime[0]);
            }
            int[] count = {0};
            err = cudart.cudaGetDeviceCount(count);
            if (err != 0) {
                return new Result(
                        "the NVIDIA driver " + version(driver[0]) + " reports no usable device: " + errorName(err)
                                + " (" + errorString(err) + ")",
                        0,
                        driver[0],
                        runtime[0]);
            }
            if (count[0] == 0) {
                return new Result("no CUDA device (driver " + version(driver[0]) + ")", 0, driver[0], runtime[0]);
            }
            return new Result(null, count[0], driver[0], runtime[0]);
        } catch (Throwable t) {
            return new Result("the CUDA runtime failed while asking for devices: " + rootMessage(t), 0, 0, 0);
        }
    }

    static String version(int v) {
        return v == 0 ? "unknown" : v / 1000 + "." + (v % 1000) / 10;
    }

    private static String errorName(int err) {
        try {
            return cudart.cudaGetErrorName(err).getString();
        } catch (Throwable t) {
            return "error " + err;
        }
    }

    private static String errorString(int err) {
        try {
            return cudart.cudaGetErrorString(err).getString();
        } catch (Throwable t) {
            return "error " + err;
        }
    }

    static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        String m = r.getMessage();
        return r.getClass().getSimpleName()
                + (m == null ? "" : ": " + m.lines().findFirst().orElse(""));
    }
}
