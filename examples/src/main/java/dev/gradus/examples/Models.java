package dev.gradus.examples;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.Rng;
import dev.gradus.io.ModelFormatException;
import dev.gradus.io.Safetensors;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Dropout;
import dev.gradus.nn.Flatten;
import dev.gradus.nn.Init;
import dev.gradus.nn.Module;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.spi.Backend;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The examples' architectures by name, so a saved model can be rebuilt from its file's metadata
 * ({@code gradus.example}, {@code gradus.hidden}, {@code gradus.dropout}).
 */
public final class Models {
    private Models() {}

    /** An MLP on flattened images: 784 -> hidden... (relu, optional dropout) -> 10, Glorot init as Keras/Flux. */
    public static Sequential mlp(Device device, int[] hidden, float dropout, Rng rng) {
        return mlp(Backends.of(device), hidden, dropout, rng);
    }

    /** The SPI-level form of {@link #mlp(Device, int[], float, Rng)}, for a backend instance a Device cannot name. */
    public static Sequential mlp(Backend backend, int[] hidden, float dropout, Rng rng) {
        Sequential s = new Sequential(new Flatten());
        int in = 784;
        for (int h : hidden) {
            s.add(new Dense(backend, in, h, true, Init.GLOROT, rng)).add(new ReLU());
            if (dropout > 0) {
                s.add(new Dropout(dropout, rng.split()));
            }
            in = h;
        }
        return s.add(new Dense(backend, in, 10, true, Init.GLOROT, rng));
    }

    /** The metadata that lets {@link #rebuild} make this architecture again. */
    public static Map<String, String> describe(String example, int[] hidden, float dropout) {
        return Map.of(
                "gradus.example", example, "gradus.hidden", join(hidden), "gradus.dropout", Float.toString(dropout));
    }

    /**
     * The {@code {mean, std}} an example's model expects its pixels normalised with (bn-cnn's, as its notebook), or
     * null for raw pixels in [0, 1].
     */
    public static float[] normalization(Map<String, String> meta) {
        return "bn-cnn".equals(meta.get("gradus.example")) ? new float[] {0.1307f, 0.3081f} : null;
    }

    /** A model file's metadata and the model it describes, weights loaded, in evaluation mode; close the model. */
    public record Saved(Map<String, String> meta, Module model) {}

    /** Reads {@code file} once, rebuilds the architecture its metadata names and loads the weights into it. */
    public static Saved load(Path file, Device device) throws IOException {
        return load(file, Backends.of(device));
    }

    /** The SPI-level form of {@link #load(Path, Device)}, for a backend instance a Device cannot name. */
    public static Saved load(Path file, Backend backend) throws IOException {
        Safetensors.Contents c = Safetensors.read(file);
        Module model;
        try {
            model = rebuild(c.metadata(), backend);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file.toString(), e.getMessage(), e);
        }
        try {
            Safetensors.load(model, c, file.toString());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        model.eval();
        return new Saved(c.metadata(), model);
    }

    /** Rebuilds the architecture a file's metadata names (weights are then loaded into it). */
    public static Module rebuild(Map<String, String> meta, Device device) {
        return rebuild(meta, Backends.of(device));
    }

    /** The SPI-level form of {@link #rebuild(Map, Device)}, for a backend instance a Device cannot name. */
    public static Module rebuild(Map<String, String> meta, Backend backend) {
        String example = meta.get("gradus.example");
        if (example == null) {
            throw new IllegalArgumentException(
                    "the model file does not say which example built it (no"
                            + " gradus.example metadata); files from the mlp, fashion-mlp, cnn, bn-cnn, lstm, vit and kaggle commands do");
        }
        Rng rng = new Rng(0);
        return switch (example) {
            case "cnn" -> CnnCommand.model(backend, rng);
            case "bn-cnn" -> BnCnnCommand.model(backend, rng);
            case "lstm" -> new RowLstm(backend.device(), hiddenOf(meta, 128), rng);
            case "vit" -> new VisionTransformer(backend.device(), rng);
            case "mlp", "fashion-mlp", "linear" ->
                mlp(
                        backend,
                        parse(meta.getOrDefault("gradus.hidden", "")),
                        dropout(meta.getOrDefault("gradus.dropout", "0")),
                        rng);
            default -> throw new IllegalArgumentException("unknown example '" + example + "' in the model file");
        };
    }

    /** The one hidden size in {@code gradus.hidden}, or {@code fallback} when absent. */
    private static int hiddenOf(Map<String, String> meta, int fallback) {
        int[] h = parse(meta.getOrDefault("gradus.hidden", ""));
        if (h.length > 1) {
            throw new IllegalArgumentException("metadata gradus.hidden must be one size for an lstm, got " + join(h));
        }
        return h.length == 0 ? fallback : h[0];
    }

    /** The {@code gradus.dropout} metadata: a probability in [0, 1). */
    private static float dropout(String v) {
        float p;
        try {
            p = Float.parseFloat(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("metadata gradus.dropout must be a number in [0, 1), got '" + v + "'");
        }
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("metadata gradus.dropout must be in [0, 1), got " + v);
        }
        return p;
    }

    static String join(int[] hidden) {
        StringBuilder sb = new StringBuilder();
        for (int h : hidden) {
            sb.append(sb.length() > 0 ? "," : "").append(h);
        }
        return sb.toString();
    }

    static int[] parse(String spec) {
        if (spec.isBlank()) {
            return new int[0];
        }
        String[] parts = spec.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "hidden layer sizes must be integers like 50,50; got '" + spec + "'");
            }
            if (out[i] < 1) {
                throw new IllegalArgumentException("hidden layer sizes must be positive; got '" + spec + "'");
            }
        }
        return out;
    }
}
