package dev.gradus.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The backend's run-time compile step, without a GPU: the target chosen for a device, and the kernel sources
 * compiled by NVRTC itself (which, unlike nvcc, has no standard headers) exactly as the backend compiles them. The
 * NVRTC tests need only {@code libnvrtc.so.13} (see {@link NvrtcLibraries}); the build unpacks it from
 * {@code cuda-redist} into {@code target/nvrtc}.
 */
class NvrtcTest {
    private static final int[] NVRTC_13_ARCHS = {75, 80, 86, 87, 88, 89, 90, 100, 103, 110, 120, 121};

    @Test
    void aKnownArchitectureGetsACubinForItself() {
        assertEquals(new Nvrtc.Target("sm_90", true), Nvrtc.target(9, 0, NVRTC_13_ARCHS));
        assertEquals(new Nvrtc.Target("sm_75", true), Nvrtc.target(7, 5, NVRTC_13_ARCHS));
        assertEquals(new Nvrtc.Target("sm_120", true), Nvrtc.target(12, 0, NVRTC_13_ARCHS));
    }

    @Test
    void anArchitectureNewerThanNvrtcGetsPtxForTheNewestItKnows() {
        assertEquals(new Nvrtc.Target("compute_121", false), Nvrtc.target(13, 0, NVRTC_13_ARCHS));
        // Between two known architectures: PTX for the one below, which the driver compiles for the device.
        assertEquals(new Nvrtc.Target("compute_90", false), Nvrtc.target(9, 5, NVRTC_13_ARCHS));
    }

    @Test
    void anArchitectureOlderThanNvrtcIsAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Nvrtc.target(6, 1, NVRTC_13_ARCHS));
        assertTrue(e.getMessage().contains("sm_61") && e.getMessage().contains("sm_75 and newer"), e.getMessage());
        assertTrue(e.getMessage().contains("CPU backend"), e.getMessage());
    }

    private static void assumeNvrtc() {
        String problem = NvrtcLibraries.prepare();
        assumeTrue(
                problem == null, () -> "NVRTC is not available, the run-time compile step was not checked: " + problem);
    }

    @Test
    void nvrtcSupportsTheH100() {
        assumeNvrtc();
        int[] archs = Nvrtc.supportedArchs();
        assertTrue(
                Arrays.binarySearch(archs, 90) >= 0,
                "NVRTC " + CudaProbe.version(Nvrtc.version()) + " supports " + Arrays.toString(archs));
        assertEquals(new Nvrtc.Target("sm_90", true), Nvrtc.target(9, 0, archs));
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Test
    void everyKernelCompilesToACubinForEachArchitectureNvrtcKnows() {
        assumeNvrtc();
        String source = CudaKernels.all();
        for (int arch : Nvrtc.supportedArchs()) {
            Nvrtc.Target target = Nvrtc.target(arch / 10, arch % 10, Nvrtc.supportedArchs());
            assertTrue(target.cubin(), target.toString());
            byte[] cubin = Nvrtc.compile(source, target);
            assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, Arrays.copyOf(cubin, 4), "CUBIN for " + target.arch());
            for (String entry : CudaKernels.ENTRY_POINTS) {
                // extern "C" kernels keep their names in the ELF symbol table, where cuModuleGetFunction looks.
                assertTrue(
                        contains(cubin, (entry + "\0").getBytes(StandardCharsets.US_ASCII)),
                        target.arch() + " CUBIN exports " + entry);
            }
        }
    }

    @Test
    void thePtxFallbackHasEveryEntryPoint() {
        assumeNvrtc();
        String ptx = new String(
                Nvrtc.compile(CudaKernels.all(), new Nvrtc.Target("compute_90", false)), StandardCharsets.US_ASCII);
        assertTrue(ptx.contains(".target sm_90"), "PTX targets sm_90");
        assertTrue(ptx.charAt(ptx.length() - 1) != 0, "the terminating NUL is stripped (the loader adds its own)");
        for (String entry : CudaKernels.ENTRY_POINTS) {
            assertTrue(ptx.contains(".entry " + entry + "("), "PTX exports " + entry);
        }
    }

    @Test
    void aSourceThatDoesNotCompileReportsNvrtcsLog() {
        assumeNvrtc();
        String broken = CudaKernels.all() + "\nextern \"C\" __global__ void gradus_broken(float* x) { x[0] = y; }\n";
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> Nvrtc.compile(broken, new Nvrtc.Target("sm_90", true)));
        assertTrue(e.getMessage().contains("NVRTC could not compile the Gradus kernels for sm_90"), e.getMessage());
        assertTrue(
                e.getMessage().contains("gradus_kernels.cu") && e.getMessage().contains("\"y\""), e.getMessage());
    }
}
