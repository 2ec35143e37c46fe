package dev.gradus.backend.cuda;

import java.util.LinkedHashMap;
import java.util.Map;

/** What {@code describe} reports: the device, its architecture, the kernels and the convolution plans. */
final class CudaDiagnostics {
    private CudaDiagnostics() {}

    static Map<String, String> describe(int device, String arch, int convPlans) {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("device", Integer.toString(device));
        d.put("architecture", arch);
        d.put("kernels", "NVRTC, " + CudaKernels.ENTRY_POINTS.size() + " entry points");
        d.put("convolution", "cuDNN, " + convPlans + " shapes planned");
        d.put("status", "experimental: not yet verified on a GPU");
        return d;
    }
}
