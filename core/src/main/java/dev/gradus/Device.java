package dev.gradus;

import java.util.Locale;

/**
 * Where a tensor's memory lives, as PyTorch's {@code torch.device}: a backend type and a device index; the handle
 * users pass to {@code Tensor.zeros(device, ...)}, {@code x.to(device)} and {@code model.to(device)}.
 *
 * <p>{@code Device.of("cuda:0")}, {@code Device.cpu()}, {@code Device.defaultDevice()}.
 *
 * <pre>{@code
 * Device d = Device.cuda().isAvailable() ? Device.cuda() : Device.cpu();
 * Tensor x = Tensor.zeros(d, 32, 784);
 * }</pre>
 */
public record Device(String type, int index) {

    /** Checks the parts: a non-blank type and an index of 0 or more. */
    public Device {
        if (type == null || type.isBlank()) {
            throw new IllegalArgumentException(
                    "Device: the type must be a name such as cpu or cuda, not '" + type + "'");
        }
        if (index < 0) {
            throw new IllegalArgumentException("Device: index " + index + " of " + type + " is negative");
        }
    }

    /** The CPU, {@code cpu:0}. */
    public static Device cpu() {
        return new Device("cpu", 0);
    }

    /** The first CUDA GPU, {@code cuda:0}. */
    public static Device cuda() {
        return cuda(0);
    }

    /** The CUDA GPU numbered {@code index}, as {@code torch.device("cuda", index)}. */
    public static Device cuda(int index) {
        return new Device("cuda", index);
    }

    /**
     * Parses {@code "cpu"}, {@code "cuda"}, {@code "cuda:1"} (a type, then optionally {@code :} and an index; no
     * index means 0), as {@code torch.device(String)}.
     *
     * @throws IllegalArgumentException naming {@code spec} when it is not of that form
     */
    public static Device of(String spec) {
        if (spec == null) {
            throw new IllegalArgumentException("Device.of: null is not a device; expected e.g. cpu, cuda or cuda:1");
        }
        String s = spec.trim().toLowerCase(Locale.ROOT);
        int colon = s.indexOf(':');
        String type = colon < 0 ? s : s.substring(0, colon);
        if (!type.matches("[a-z][a-z0-9_]*")) {
            throw new IllegalArgumentException(
                    "Device.of: '" + spec + "' is not a device; expected e.g. cpu, cuda or cuda:1");
        }
        if (colon < 0) {
            return new Device(type, 0);
        }
        String digits = s.substring(colon + 1);
        if (!digits.matches("[0-9]{1,9}")) {
            throw new IllegalArgumentException(
                    "Device.of: '" + spec + "' has no valid index after ':'; expected e.g. cuda:1");
        }
        return new Device(type, Integer.parseInt(digits));
    }

    /** The device of the default backend ({@code gradus.backend}, {@code GRADUS_BACKEND}, else the best available). */
    public static Device defaultDevice() {
        return Backends.defaultBackend().device();
    }

    /**
     * Whether tensors can be made on this device here: its backend module is present, can run, and has this index.
     * Does not throw; {@link Backends#of(Device)} says why not.
     */
    public boolean isAvailable() {
        return Backends.available(this);
    }

    @Override
    public String toString() {
        return type + ":" + index;
    }
}
